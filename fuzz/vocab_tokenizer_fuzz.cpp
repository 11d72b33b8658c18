// libFuzzer target: tokenizers built from fuzzed vocabularies, encoding fuzzed text. The input
// describes a vocabulary — SentencePiece ("llama") or byte-level BPE ("gpt2"), its pieces, scores,
// kinds, merges, special ids and flags, with or without the byte tokens — and the rest of it is
// the text. Building may refuse the vocabulary with InputError; a tokenizer that is built must
// give valid ids for any text, decode them, and (byte-level BPE with every byte symbol, special
// tokens not parsed) spell the text again. (tokenizer_fuzz and bpe_tokenizer_fuzz fuzz the text
// on fixed vocabularies; gguf_fuzz the vocabulary on fixed text.)
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "aded/error.h"
#include "aded/tokenizer.h"

namespace {

void check(bool ok, const char* invariant) {
  if (ok) return;
  std::fprintf(stderr, "vocab_tokenizer_fuzz: invariant violated: %s\n", invariant);
  std::abort();
}

// GPT-2's byte-to-unicode symbol of a byte, as UTF-8.
std::string byte_symbol(int byte) {
  const auto printable = [](int b) {
    return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
  };
  int cp = byte;
  if (!printable(byte)) {
    cp = 256;
    for (int b = 0; b < byte; ++b) cp += printable(b) ? 0 : 1;
  }
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

std::string hex_byte_piece(int b) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  return std::string("<0x") + kHex[b >> 4] + kHex[b & 15] + ">";
}

struct Built {
  aded::Vocab vocab;
  bool all_byte_symbols = false;
};

Built make_vocab(FuzzedDataProvider& in) {
  Built b;
  aded::Vocab& v = b.vocab;
  const bool spm = in.ConsumeBool();
  v.model = spm ? "llama" : "gpt2";
  if (!spm) {
    // One of each kind: a single pattern, Llama 3's merges rule, and the families that split in
    // several passes.
    static const char* const kPre[] = {"",          "gpt2",   "default",        "llama-bpe",
                                       "llama3",    "qwen2",  "starcoder",      "falcon",
                                       "deepseek-coder", "deepseek-llm"};
    v.pre = kPre[in.ConsumeIntegralInRange<size_t>(0, std::size(kPre) - 1)];
  }
  const auto add = [&](std::string piece, aded::TokenKind kind, float score) {
    v.pieces.push_back(std::move(piece));
    v.kinds.push_back(kind);
    v.scores.push_back(score);
  };
  b.all_byte_symbols = in.ConsumeBool();
  if (b.all_byte_symbols)
    for (int c = 0; c < 256; ++c)
      add(spm ? hex_byte_piece(c) : byte_symbol(c),
          spm ? aded::TokenKind::Byte : aded::TokenKind::Normal, 0);
  const size_t n = in.ConsumeIntegralInRange<size_t>(1, 48);
  for (size_t i = 0; i < n && in.remaining_bytes() > 0; ++i) {
    std::string piece = in.ConsumeRandomLengthString(12);
    const auto kind = static_cast<aded::TokenKind>(in.ConsumeIntegralInRange<int32_t>(0, 6));
    const float score =
        in.ConsumeBool() ? -static_cast<float>(i) : in.ConsumeFloatingPoint<float>();
    add(std::move(piece), kind, score);
  }
  const size_t n_merges = spm ? 0 : in.ConsumeIntegralInRange<size_t>(0, 32);
  for (size_t i = 0; i < n_merges && !v.pieces.empty(); ++i) {
    if (in.ConsumeBool()) {  // a merge of two pieces, and sometimes its result as a piece
      const auto& l = v.pieces[in.ConsumeIntegralInRange<size_t>(0, v.pieces.size() - 1)];
      const auto& r = v.pieces[in.ConsumeIntegralInRange<size_t>(0, v.pieces.size() - 1)];
      const std::string merged = l + r;
      v.merges.push_back(l + " " + r);
      if (in.ConsumeBool()) add(merged, aded::TokenKind::Normal, 0);
    } else {
      v.merges.push_back(in.ConsumeRandomLengthString(12));
    }
  }
  if (!spm && in.ConsumeBool()) v.scores.clear();
  const auto id = [&] { return in.ConsumeIntegralInRange<int32_t>(-1, v.size() - 1); };
  v.bos = id(), v.eos = id(), v.unk = id(), v.pad = id(), v.eot = id();
  v.add_bos = in.ConsumeBool();
  v.add_eos = in.ConsumeBool();
  v.add_space_prefix = in.ConsumeBool();
  for (int32_t i = 0; i < v.size(); ++i) v.piece_to_id.emplace(v.pieces[static_cast<size_t>(i)], i);
  return b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  Built built = make_vocab(in);
  const bool lossless = built.vocab.model == "gpt2" && built.all_byte_symbols;
  const std::string text = in.ConsumeRemainingBytesAsString();
  std::unique_ptr<aded::Tokenizer> tok;
  try {
    tok = aded::Tokenizer::from_vocab(std::move(built.vocab));
  } catch (const aded::InputError&) {
    return 0;
  }
  for (const bool parse_special : {false, true}) {
    for (const bool add_bos : {false, true}) {
      const std::vector<int32_t> ids = tok->encode(text, add_bos, parse_special);
      std::string bytes;
      for (size_t i = 0; i < ids.size(); ++i) {
        check(tok->valid(ids[i]), "encode gives valid ids");
        bytes += tok->token_bytes(ids[i]);
      }
      (void)tok->decode(ids);
      if (lossless && !parse_special && !add_bos)
        check(bytes == text, "byte-level BPE with every byte spells the text");
    }
  }
  return 0;
}
