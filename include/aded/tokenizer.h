// Tokenizers built from GGUF metadata (tokenizer.ggml.*): SentencePiece-style ("llama") and
// byte-level BPE ("gpt2"), plus a streaming detokenizer that only ever emits valid UTF-8.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace aded {

class GgufFile;

// GGUF token types (tokenizer.ggml.token_type).
enum class TokenKind : int32_t {
  Undefined = 0,
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
};

// The vocabulary as stored in GGUF metadata, validated.
struct Vocab {
  std::string model;  // tokenizer.ggml.model: "llama" or "gpt2"
  std::string pre;    // tokenizer.ggml.pre (BPE pre-tokenizer name), may be empty
  std::vector<std::string> pieces;
  std::vector<float> scores;         // may be empty for BPE
  std::vector<TokenKind> kinds;      // defaults to Normal when absent
  std::vector<std::string> merges;   // BPE only: "a b" pairs in rank order
  int32_t bos = -1, eos = -1, unk = -1, pad = -1, eot = -1;
  bool add_bos = true;
  bool add_eos = false;
  bool add_space_prefix = true;  // SentencePiece dummy prefix
  std::unordered_map<std::string, int32_t> piece_to_id;

  int32_t size() const { return static_cast<int32_t>(pieces.size()); }
  // Reads and checks tokenizer.ggml.*; throws InputError naming the file and key.
  static Vocab from_gguf(const GgufFile& file);
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Builds the tokenizer the metadata names; throws InputError for a missing or unknown one.
  static std::unique_ptr<Tokenizer> from_gguf(const GgufFile& file);
  static std::unique_ptr<Tokenizer> from_vocab(Vocab vocab);

  // add_bos: prepend BOS. parse_special: text such as "<s>" or "<|im_start|>" becomes the control
  // token instead of being tokenized as plain text.
  virtual std::vector<int32_t> encode(std::string_view text, bool add_bos,
                                      bool parse_special = false) const = 0;

  // The bytes a token stands for in text (byte tokens give their byte, "▁" gives a space,
  // control tokens give nothing). May be an incomplete UTF-8 sequence.
  virtual std::string token_bytes(int32_t id) const = 0;

  const Vocab& vocab() const { return vocab_; }
  int32_t bos() const { return vocab_.bos; }
  int32_t eos() const { return vocab_.eos; }
  int32_t size() const { return vocab_.size(); }
  bool add_bos_by_default() const { return vocab_.add_bos; }
  // End of generation: EOS, EOT, or another control token the vocabulary marks as such.
  bool is_end_of_generation(int32_t id) const { return id == vocab_.eos || id == vocab_.eot; }
  bool valid(int32_t id) const { return id >= 0 && id < vocab_.size(); }

  // Whole-sequence decode (convenience over Detokenizer).
  std::string decode(const std::vector<int32_t>& ids) const;

 protected:
  explicit Tokenizer(Vocab vocab) : vocab_(std::move(vocab)) {}
  Vocab vocab_;
};

// Turns a stream of tokens into text, holding back bytes until they form complete UTF-8
// characters (invalid sequences come out as U+FFFD), and dropping the SentencePiece dummy-prefix
// space of the first piece after BOS (or at the start).
class Detokenizer {
 public:
  explicit Detokenizer(const Tokenizer& tokenizer) : tok_(tokenizer) {}
  std::string push(int32_t id);
  std::string flush();  // whatever incomplete bytes remain, as U+FFFD

 private:
  const Tokenizer& tok_;
  std::string pending_;
  bool at_start_ = true;
};

// Splits complete UTF-8 characters off the front of buf; returns them (invalid bytes replaced by
// U+FFFD) and leaves a trailing incomplete sequence in buf.
std::string take_complete_utf8(std::string& buf);

}  // namespace aded
