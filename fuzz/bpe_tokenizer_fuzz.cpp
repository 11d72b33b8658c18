// libFuzzer target: byte-level BPE encoding and decoding of arbitrary bytes, with and without
// special-token parsing, on a small Llama-3-style vocabulary built once.
//   clang++ -std=c++20 -fsanitize=fuzzer,address -I include fuzz/bpe_tokenizer_fuzz.cpp libaded.a \
//     -lfmt -lpcre2-8 ...
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aded/tokenizer.h"

namespace {

// GPT-2's byte-to-unicode symbol of a byte, as UTF-8: printable bytes stand for themselves, the
// others take U+0100 onwards in byte order.
std::string byte_symbol(int byte) {
  const auto printable = [](int b) {
    return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
  };
  int code_point = byte;
  if (!printable(byte)) {
    code_point = 256;
    for (int b = 0; b < byte; ++b) code_point += printable(b) ? 0 : 1;
  }
  std::string s;
  if (code_point < 0x80) {
    s += static_cast<char>(code_point);
  } else {
    s += static_cast<char>(0xC0 | (code_point >> 6));
    s += static_cast<char>(0x80 | (code_point & 0x3F));
  }
  return s;
}

void add_piece(aded::Vocab& v, const std::string& piece, aded::TokenKind kind) {
  if (v.piece_to_id.count(piece)) return;
  v.piece_to_id.emplace(piece, v.size());
  v.pieces.push_back(piece);
  v.kinds.push_back(kind);
}

void add_merge(aded::Vocab& v, const std::string& left, const std::string& right) {
  add_piece(v, left + right, aded::TokenKind::Normal);
  v.merges.push_back(left + " " + right);
}

std::unique_ptr<aded::Tokenizer> make_tokenizer() {
  aded::Vocab v;
  v.model = "gpt2";
  v.pre = "llama3";
  v.add_space_prefix = false;
  for (int b = 0; b < 256; ++b) add_piece(v, byte_symbol(b), aded::TokenKind::Normal);
  const std::string space = byte_symbol(' ');
  const std::string newline = byte_symbol('\n');
  add_merge(v, space, "t");
  add_merge(v, "h", "e");
  add_merge(v, space + "t", "he");
  add_merge(v, "i", "n");
  add_merge(v, space, "a");
  add_merge(v, "e", "r");
  add_merge(v, space, space);
  add_merge(v, space + space, space + space);
  add_merge(v, newline, newline);
  add_merge(v, "1", "2");
  add_merge(v, "12", "3");
  add_merge(v, byte_symbol(0xC3), byte_symbol(0xA9));  // "é"
  add_merge(v, byte_symbol(0xF0), byte_symbol(0x9F));  // emoji prefix
  add_piece(v, "<|begin_of_text|>", aded::TokenKind::Control);
  add_piece(v, "<|end_of_text|>", aded::TokenKind::Control);
  add_piece(v, "<|eot_id|>", aded::TokenKind::Control);
  add_piece(v, "<think>", aded::TokenKind::UserDefined);
  v.bos = v.piece_to_id.at("<|begin_of_text|>");
  v.eos = v.piece_to_id.at("<|end_of_text|>");
  v.eot = v.piece_to_id.at("<|eot_id|>");
  return aded::Tokenizer::from_vocab(std::move(v));
}

const aded::Tokenizer& tokenizer() {
  static const auto tok = make_tokenizer();
  return *tok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& tok = tokenizer();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const bool parse_special : {false, true}) {
    const std::vector<int32_t> ids = tok.encode(text, /*add_bos=*/true, parse_special);
    std::string bytes;
    for (size_t i = 1; i < ids.size(); ++i) {
      if (!tok.valid(ids[i])) std::abort();
      bytes += tok.token_bytes(ids[i]);
    }
    // Without special tokens, byte-level BPE is lossless.
    if (!parse_special && bytes != text) std::abort();
    (void)tok.decode(ids);
  }
  return 0;
}
