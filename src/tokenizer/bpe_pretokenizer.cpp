#include "tokenizer/bpe_pretokenizer.h"

#include <pcre2.h>

#include <array>
#include <memory>
#include <new>
#include <string>

#include "aded/error.h"

namespace aded {

namespace {

// The public pre-tokenizer patterns. GPT-2's is the one of its encoder.py; Llama 3's spells the
// case-insensitive contractions out as llama.cpp does, so "'S" matches but "'ſ" does not.
constexpr std::string_view kGpt2Pattern =
    R"re('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)re";
constexpr std::string_view kLlama3Pattern =
    R"re((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
// Qwen2: Llama 3's pattern with single digits.
constexpr std::string_view kQwen2Pattern =
    R"re((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";

// Used only when the main pattern fails with a PCRE2 error (a match or stack limit on a huge
// run): possessive runs of one character class, which cannot backtrack and so cannot fail.
constexpr std::string_view kClassRunPattern = R"re(\s++|\p{L}++|\p{N}++|[^\s\p{L}\p{N}]++)re";

struct PretokenizerSpec {
  std::string_view name;
  std::string_view pattern;
  bool ignore_merges;
};

constexpr std::array kSpecs = {
    PretokenizerSpec{"gpt2", kGpt2Pattern, false},
    PretokenizerSpec{"default", kGpt2Pattern, false},
    PretokenizerSpec{"", kGpt2Pattern, false},
    PretokenizerSpec{"llama-bpe", kLlama3Pattern, true},
    PretokenizerSpec{"llama3", kLlama3Pattern, true},
    PretokenizerSpec{"qwen2", kQwen2Pattern, false},
};

const PretokenizerSpec& find_spec(std::string_view name) {
  for (const auto& spec : kSpecs)
    if (spec.name == name) return spec;
  fail("unsupported BPE pre-tokenizer '{}' (tokenizer.ggml.pre); supported: {}", name,
       BpePretokenizer::supported_names());
}

struct CodeDeleter {
  void operator()(pcre2_code* code) const { pcre2_code_free(code); }
};
using CodePtr = std::unique_ptr<pcre2_code, CodeDeleter>;

struct MatchDataDeleter {
  void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};
using MatchDataPtr = std::unique_ptr<pcre2_match_data, MatchDataDeleter>;

CodePtr compile(std::string_view pattern, bool use_jit) {
  int error = 0;
  PCRE2_SIZE error_offset = 0;
  CodePtr code(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                             PCRE2_UTF | PCRE2_UCP, &error, &error_offset, nullptr));
  if (!code) {
    std::array<PCRE2_UCHAR, 256> message{};
    pcre2_get_error_message(error, message.data(), message.size());
    throw Error(fmt::format("pre-tokenizer regex does not compile at offset {}: {}", error_offset,
                            reinterpret_cast<const char*>(message.data())));
  }
  // Without JIT support (or if it fails) pcre2_match simply interprets the pattern.
  if (use_jit) pcre2_jit_compile(code.get(), PCRE2_JIT_COMPLETE);
  return code;
}

struct Match {
  size_t begin = 0, end = 0;
};

// The next match of code in text at or after offset: 1 found, 0 none, -1 a PCRE2 error.
int find_next(const pcre2_code* code, pcre2_match_data* data, std::string_view text, size_t offset,
              Match& match) {
  // The caller has validated the UTF-8: skipping PCRE2's check keeps the scan linear.
  const int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), offset,
                             PCRE2_NO_UTF_CHECK, data, nullptr);
  if (rc == PCRE2_ERROR_NOMATCH) return 0;
  if (rc < 0) return -1;
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data);
  match.begin = ovector[0];
  match.end = ovector[1];
  return 1;
}

// After a PCRE2 error (or an empty match, which these patterns never give): the run of
// same-class characters at offset, or failing that one character, so the split moves forward.
Match forced_match(const pcre2_code* class_runs, pcre2_match_data* data, std::string_view text,
                   size_t offset) {
  Match match;
  const int found = find_next(class_runs, data, text, offset, match);
  if (found <= 0 || match.begin != offset || match.end == offset)
    match = {offset, offset + utf8_char_length(text, offset)};
  return match;
}

bool is_continuation(unsigned char c) {
  return (c & 0xC0) == 0x80;
}

// Appends the pre-tokens of valid UTF-8 text: the matches of the main pattern.
void split_valid_utf8(const pcre2_code* pattern, const pcre2_code* class_runs,
                      pcre2_match_data* data, std::string_view text,
                      std::vector<std::string_view>& out) {
  size_t offset = 0;
  while (offset < text.size()) {
    Match match;
    const int found = find_next(pattern, data, text, offset, match);
    if (found == 0) {
      // The patterns cover every character, so this does not happen; but never drop bytes.
      out.push_back(text.substr(offset));
      return;
    }
    if (found < 0 || match.end == match.begin) match = forced_match(class_runs, data, text, offset);
    if (match.begin > offset) out.push_back(text.substr(offset, match.begin - offset));
    out.push_back(text.substr(match.begin, match.end - match.begin));
    offset = match.end;
  }
}

}  // namespace

struct BpePretokenizer::Regexes {
  CodePtr main;
  CodePtr class_runs;
};

size_t utf8_char_length(std::string_view text, size_t pos) {
  const size_t left = text.size() - pos;
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[pos + k]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return left >= 2 && is_continuation(byte(1)) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    if (left < 3 || !is_continuation(byte(1)) || !is_continuation(byte(2))) return 0;
    if (lead == 0xE0 && byte(1) < 0xA0) return 0;  // overlong
    if (lead == 0xED && byte(1) > 0x9F) return 0;  // surrogate
    return 3;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    if (left < 4 || !is_continuation(byte(1)) || !is_continuation(byte(2)) ||
        !is_continuation(byte(3)))
      return 0;
    if (lead == 0xF0 && byte(1) < 0x90) return 0;  // overlong
    if (lead == 0xF4 && byte(1) > 0x8F) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

BpePretokenizer::BpePretokenizer(std::string_view name, bool use_jit) {
  const auto& spec = find_spec(name);
  name_ = std::string(name);
  ignore_merges_ = spec.ignore_merges;
  regexes_ = std::make_unique<Regexes>();
  regexes_->main = compile(spec.pattern, use_jit);
  regexes_->class_runs = compile(kClassRunPattern, use_jit);
}

BpePretokenizer::~BpePretokenizer() = default;
BpePretokenizer::BpePretokenizer(BpePretokenizer&&) noexcept = default;
BpePretokenizer& BpePretokenizer::operator=(BpePretokenizer&&) noexcept = default;

std::string BpePretokenizer::supported_names() {
  return "gpt2, default (or empty), llama-bpe, llama3, qwen2";
}

std::vector<std::string_view> BpePretokenizer::split(std::string_view text) const {
  std::vector<std::string_view> out;
  split(text, out);
  return out;
}

void BpePretokenizer::split(std::string_view text, std::vector<std::string_view>& out) const {
  if (text.empty()) return;
  MatchDataPtr data(pcre2_match_data_create_from_pattern(regexes_->main.get(), nullptr));
  if (!data) throw std::bad_alloc();
  // PCRE2 must only see valid UTF-8, so the regex runs on the valid stretches between bad bytes.
  size_t pos = 0;
  while (pos < text.size()) {
    size_t valid_end = pos;
    while (valid_end < text.size()) {
      const size_t len = utf8_char_length(text, valid_end);
      if (len == 0) break;
      valid_end += len;
    }
    if (valid_end > pos)
      split_valid_utf8(regexes_->main.get(), regexes_->class_runs.get(), data.get(),
                       text.substr(pos, valid_end - pos), out);
    if (valid_end < text.size()) out.push_back(text.substr(valid_end, 1));
    pos = valid_end + 1;
  }
}

}  // namespace aded
