// SentencePiece-style ("llama") tokenizer: encodes like SentencePiece's BPE model with an identity
// normalizer (Llama 2's tokenizer.model), from the pieces, scores and token kinds in GGUF.
//
// Encoding, per text fragment:
//   1. the dummy prefix "▁" when vocab.add_space_prefix, and every ' ' becomes "▁" (U+2581);
//   2. spm_segment: characters merged by highest piece score (spm_merge.h);
//   3. a piece that is not in the vocabulary becomes byte tokens "<0xHH>" when the vocabulary has
//      them (byte fallback), otherwise unk; with neither, it is dropped.
// With parse_special, control pieces such as "<s>" are found first (leftmost, then longest) and
// the text between them is encoded fragment by fragment, each fragment with its own dummy prefix
// (as llama.cpp does, and as Meta's reference encodes each chat turn separately). User-defined
// pieces are always kept whole, with or without parse_special, as SentencePiece does.
//
// Differences from SentencePiece, on purpose:
//   - a byte that is not valid UTF-8 is a symbol of its own and so falls back to its byte token;
//     SentencePiece's normalizer turns it into U+FFFD first. Keeping the byte loses nothing.
//   - token_bytes(unk) is SentencePiece's unk surface " ⁇ " (U+2047 between spaces); like any
//     first piece, a leading unk loses its first space in the Detokenizer.
#include <array>
#include <optional>
#include <string>

#include "aded/error.h"
#include "spm_merge.h"
#include "spm_piece_trie.h"
#include "tokenizer/spm_normalizer.h"
#include "tokenizer_impl.h"

namespace aded {

namespace {

constexpr std::string_view kUnknownSurface = " \xE2\x81\x87 ";  // " ⁇ "

void check_special_id(const Vocab& v, int32_t id, std::string_view name) {
  if (id < -1 || id >= v.size())
    fail("SentencePiece vocabulary: {} id {} is outside the vocabulary (size {})", name, id,
         v.size());
}

// A hand-made Vocab may leave kinds, scores and piece_to_id empty: fill them as from_gguf would.
Vocab with_defaults(Vocab v) {
  const size_t n = v.pieces.size();
  if (v.kinds.empty()) v.kinds.assign(n, TokenKind::Normal);
  if (v.scores.empty()) v.scores.assign(n, 0.0f);
  if (v.kinds.size() != n || v.scores.size() != n)
    fail("SentencePiece vocabulary: {} pieces but {} kinds and {} scores", n, v.kinds.size(),
         v.scores.size());
  if (v.piece_to_id.empty()) {
    for (size_t i = 0; i < n; ++i) v.piece_to_id.emplace(v.pieces[i], static_cast<int32_t>(i));
  }
  for (size_t i = 0; i < n && v.unk < 0; ++i)
    if (v.kinds[i] == TokenKind::Unknown) v.unk = static_cast<int32_t>(i);
  check_special_id(v, v.bos, "BOS");
  check_special_id(v, v.eos, "EOS");
  check_special_id(v, v.unk, "unknown-token");
  check_special_id(v, v.pad, "padding");
  check_special_id(v, v.eot, "EOT");
  return v;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// "<0xHH>" -> the byte HH.
std::optional<char> parse_byte_piece(std::string_view piece) {
  if (piece.size() != 6 || piece.substr(0, 3) != "<0x" || piece[5] != '>') return std::nullopt;
  const int high = hex_digit(piece[3]), low = hex_digit(piece[4]);
  if (high < 0 || low < 0) return std::nullopt;
  return static_cast<char>(high * 16 + low);
}

std::string replace_space_symbols(std::string_view piece) {
  std::string out;
  out.reserve(piece.size());
  while (!piece.empty()) {
    if (piece.starts_with(kSpmSpaceSymbol)) {
      out += ' ';
      piece.remove_prefix(kSpmSpaceSymbol.size());
    } else {
      out += piece.front();
      piece.remove_prefix(1);
    }
  }
  return out;
}

class SpmTokenizer final : public Tokenizer {
 public:
  explicit SpmTokenizer(Vocab vocab) : Tokenizer(with_defaults(std::move(vocab))), merges_(vocab_) {
    byte_ids_.fill(-1);
    surfaces_.reserve(vocab_.pieces.size());
    for (size_t i = 0; i < vocab_.pieces.size(); ++i) {
      const auto id = static_cast<int32_t>(i);
      const TokenKind kind = vocab_.kinds[i];
      const std::string& piece = vocab_.pieces[i];
      const auto byte = kind == TokenKind::Byte ? parse_byte_piece(piece) : std::nullopt;
      if (byte && byte_ids_[static_cast<unsigned char>(*byte)] < 0) {
        byte_ids_[static_cast<unsigned char>(*byte)] = id;
        byte_fallback_ = true;
      }
      if (kind == TokenKind::Control) control_.insert(piece, id);
      surfaces_.push_back(surface(kind, piece, byte));
    }
  }
  SpmTokenizer(const SpmTokenizer&) = delete;  // merges_ holds views into vocab_
  SpmTokenizer& operator=(const SpmTokenizer&) = delete;

  std::vector<int32_t> encode(std::string_view text, bool add_bos,
                              bool parse_special) const override {
    std::vector<int32_t> ids;
    if (add_bos && vocab_.bos >= 0) ids.push_back(vocab_.bos);
    if (parse_special)
      encode_with_control_tokens(text, ids);
    else
      encode_fragment(text, ids);
    return ids;
  }

  std::string token_bytes(int32_t id) const override {
    return valid(id) ? surfaces_[static_cast<size_t>(id)] : std::string();
  }

 private:
  static std::string surface(TokenKind kind, std::string_view piece, std::optional<char> byte) {
    if (kind == TokenKind::Control) return {};
    if (kind == TokenKind::Unknown) return std::string(kUnknownSurface);
    if (byte) return std::string(1, *byte);
    return replace_space_symbols(piece);
  }

  // Control pieces found in text become their ids; the text between them is encoded as usual.
  void encode_with_control_tokens(std::string_view text, std::vector<int32_t>& ids) const {
    size_t fragment_begin = 0;
    size_t pos = 0;
    while (pos < text.size() && !control_.empty()) {
      const auto control = control_.longest_prefix(text.substr(pos));
      if (control.length == 0) {
        ++pos;
        continue;
      }
      encode_fragment(text.substr(fragment_begin, pos - fragment_begin), ids);
      ids.push_back(control.id);
      pos += control.length;
      fragment_begin = pos;
    }
    encode_fragment(text.substr(fragment_begin), ids);
  }

  void encode_fragment(std::string_view text, std::vector<int32_t>& ids) const {
    if (text.empty()) return;  // no dummy prefix for nothing
    const std::string normalized = spm_normalize(text, vocab_.add_space_prefix);
    for (const SpmPiece& piece : spm_segment(normalized, merges_)) {
      if (piece.id >= 0)
        ids.push_back(piece.id);
      else
        append_unknown(piece.text, ids);
    }
  }

  void append_unknown(std::string_view piece, std::vector<int32_t>& ids) const {
    if (!byte_fallback_) {
      if (vocab_.unk >= 0) ids.push_back(vocab_.unk);
      return;
    }
    for (const char c : piece) {
      const int32_t byte_id = byte_ids_[static_cast<unsigned char>(c)];
      const int32_t id = byte_id >= 0 ? byte_id : vocab_.unk;
      if (id >= 0) ids.push_back(id);
    }
  }

  SpmMergeTable merges_;
  PieceTrie control_;
  std::array<int32_t, 256> byte_ids_{};
  bool byte_fallback_ = false;         // the vocabulary has byte tokens
  std::vector<std::string> surfaces_;  // token_bytes of each id
};

}  // namespace

std::unique_ptr<Tokenizer> make_spm_tokenizer(Vocab vocab) {
  return std::make_unique<SpmTokenizer>(std::move(vocab));
}

}  // namespace aded
