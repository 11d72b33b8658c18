// Pre-tokenization for byte-level BPE: the regexes that tokenizer.ggml.pre names split text into the
// pieces BPE merges stay within (words, numbers, punctuation runs, whitespace runs); a family with
// several applies them in turn, each to the pieces the one before left.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace aded {

class BpePretokenizer {
 public:
  // name: tokenizer.ggml.pre. Throws InputError naming it (and the supported names) when unknown.
  // use_jit=false forces PCRE2's interpreter (tests check that both agree).
  explicit BpePretokenizer(std::string_view name, bool use_jit = true);
  ~BpePretokenizer();
  BpePretokenizer(BpePretokenizer&&) noexcept;
  BpePretokenizer& operator=(BpePretokenizer&&) noexcept;

  // Appends the pre-tokens of text to out, as views into text; together they are exactly text.
  // Any bytes are accepted: each byte that is not part of valid UTF-8 becomes its own pre-token.
  void split(std::string_view text, std::vector<std::string_view>& out) const;
  std::vector<std::string_view> split(std::string_view text) const;

  // Llama 3 emits a pre-token that is itself in the vocabulary as that token, without running the
  // merges (Hugging Face's "ignore_merges").
  bool ignore_merges() const { return ignore_merges_; }
  const std::string& name() const { return name_; }

  // For messages: the names it knows, "gpt2, gpt-2, default, ... (or none)".
  static std::string supported_names();

 private:
  struct Regexes;

  std::string name_;
  bool ignore_merges_ = false;
  std::unique_ptr<Regexes> regexes_;
};

// Length of the valid UTF-8 character starting at text[pos] (1 to 4), or 0 when the bytes there
// are not one (overlong forms, surrogates and code points above U+10FFFF are invalid).
size_t utf8_char_length(std::string_view text, size_t pos);

}  // namespace aded
