#include "tokenizer/bpe_pretokenizer.h"

#include <pcre2.h>

#include <array>
#include <memory>
#include <new>
#include <string>

#include "aded/error.h"

namespace aded {

namespace {

// The public pre-tokenizer patterns, as the families' tokenizer.json files (and llama.cpp, whose
// names for them GGUF files carry in tokenizer.ggml.pre) define them. GPT-2's is the one of its
// encoder.py; Llama 3's spells the case-insensitive contractions out as llama.cpp does, so "'S"
// matches but "'ſ" does not.
constexpr std::string_view kGpt2Pattern =
    R"re('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)re";
constexpr std::string_view kLlama3Pattern =
    R"re((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
// Qwen2: Llama 3's pattern with single digits.
constexpr std::string_view kQwen2Pattern =
    R"re((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
// Families that split in several passes: each pattern splits the pieces the one before it left
// (a match and the text between matches are both pieces).
constexpr std::string_view kDigit = R"re(\p{N})re";
constexpr std::string_view kFalconPunctuation = R"re([\p{P}\$\+<=>\^~\|`]+)re";
constexpr std::string_view kThreeDigits = R"re([0-9][0-9][0-9])re";
constexpr std::string_view kLineBreak = "[\r\n]";
constexpr std::string_view kCjk = "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+";
// DeepSeek LLM: letters of cased scripts (its tokenizer.json's class), ASCII and full-width
// punctuation, trailing whitespace, CJK, numbers.
constexpr std::string_view kDeepseekLetters =
    "\\s?[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293\u0295-\u02AF"
    "\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1\u03A3-\u03F5"
    "\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-\u10C5\u13A0-\u13F5\u13F8-\u13FD\u1C90-\u1CBA"
    "\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45"
    "\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE"
    "\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-\u1FFC"
    "\u2102\u2107\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D\u212F-\u2134\u2139"
    "\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE\u2CF2\u2CF3"
    "\uA640-\uA66D\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-\uABBF\uFB00-\uFB06"
    "\uFB13-\uFB17\uFF21-\uFF3A\uFF41-\uFF5A\U00010400-\U0001044F\U000104B0-\U000104D3"
    "\U000104D8-\U000104FB\U00010C80-\U00010CB2\U00010CC0-\U00010CF2\U000118A0-\U000118DF"
    "\U0001E900-\U0001E943]+";
constexpr std::string_view kDeepseekPunctuation =
    "\\s?[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+";
constexpr std::string_view kTrailingSpace = R"re(\s+$)re";
constexpr std::string_view kNumbers = R"re(\p{N}+)re";
constexpr std::string_view kLetterRun = R"re(\s?\p{L}+)re";
constexpr std::string_view kPunctuationRun = R"re(\s?\p{P}+)re";

// Used only when the main pattern fails with a PCRE2 error (a match or stack limit on a huge
// run): possessive runs of one character class, which cannot backtrack and so cannot fail.
constexpr std::string_view kClassRunPattern = R"re(\s++|\p{L}++|\p{N}++|[^\s\p{L}\p{N}]++)re";

constexpr size_t kMaxPasses = 6;

struct PretokenizerSpec {
  std::string_view name;
  std::array<std::string_view, kMaxPasses> passes;  // in order; empty ones are unused
  bool ignore_merges;
};

constexpr std::array kSpecs = {
    PretokenizerSpec{"gpt2", {kGpt2Pattern}, false},
    PretokenizerSpec{"gpt-2", {kGpt2Pattern}, false},
    PretokenizerSpec{"default", {kGpt2Pattern}, false},
    PretokenizerSpec{"", {kGpt2Pattern}, false},
    PretokenizerSpec{"mpt", {kGpt2Pattern}, false},
    PretokenizerSpec{"olmo", {kGpt2Pattern}, false},
    PretokenizerSpec{"phi-2", {kGpt2Pattern}, false},
    PretokenizerSpec{"starcoder", {kDigit, kGpt2Pattern}, false},
    PretokenizerSpec{"refact", {kDigit, kGpt2Pattern}, false},
    PretokenizerSpec{"command-r", {kDigit, kGpt2Pattern}, false},
    PretokenizerSpec{"smollm", {kDigit, kGpt2Pattern}, false},
    PretokenizerSpec{"codeshell", {kDigit, kGpt2Pattern}, false},
    PretokenizerSpec{"falcon", {kFalconPunctuation, kGpt2Pattern, kThreeDigits}, false},
    PretokenizerSpec{"deepseek-coder", {kLineBreak, kLetterRun, kPunctuationRun, kCjk, kDigit}, false},
    PretokenizerSpec{"deepseek-llm",
                     {kLineBreak, kDeepseekLetters, kDeepseekPunctuation, kTrailingSpace, kCjk, kNumbers},
                     false},
    PretokenizerSpec{"llama-bpe", {kLlama3Pattern}, true},
    PretokenizerSpec{"llama3", {kLlama3Pattern}, true},
    PretokenizerSpec{"llama-v3", {kLlama3Pattern}, true},
    PretokenizerSpec{"qwen2", {kQwen2Pattern}, false},
    PretokenizerSpec{"deepseek-r1-qwen", {kQwen2Pattern}, false},
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

// Appends the pieces of valid UTF-8 text one pattern gives: its matches, and the stretches
// between them.
void split_valid_utf8(const pcre2_code* pattern, const pcre2_code* class_runs,
                      pcre2_match_data* data, std::string_view text,
                      std::vector<std::string_view>& out) {
  size_t offset = 0;
  while (offset < text.size()) {
    Match match;
    const int found = find_next(pattern, data, text, offset, match);
    if (found == 0) {
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
  std::vector<CodePtr> passes;
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
  for (std::string_view pattern : spec.passes)
    if (!pattern.empty()) regexes_->passes.push_back(compile(pattern, use_jit));
  regexes_->class_runs = compile(kClassRunPattern, use_jit);
}

BpePretokenizer::~BpePretokenizer() = default;
BpePretokenizer::BpePretokenizer(BpePretokenizer&&) noexcept = default;
BpePretokenizer& BpePretokenizer::operator=(BpePretokenizer&&) noexcept = default;

std::string BpePretokenizer::supported_names() {
  std::string names;
  for (const auto& spec : kSpecs)
    if (!spec.name.empty()) names += (names.empty() ? "" : ", ") + std::string(spec.name);
  return names + " (or none)";
}

std::vector<std::string_view> BpePretokenizer::split(std::string_view text) const {
  std::vector<std::string_view> out;
  split(text, out);
  return out;
}

void BpePretokenizer::split(std::string_view text, std::vector<std::string_view>& out) const {
  if (text.empty()) return;
  // Match data sized for the pattern with the most groups (the class-run one has none).
  MatchDataPtr data(pcre2_match_data_create(16, nullptr));
  if (!data) throw std::bad_alloc();
  // PCRE2 must only see valid UTF-8, so the patterns run on the valid stretches between bad bytes.
  std::vector<std::string_view> pieces, next;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t valid_end = pos;
    while (valid_end < text.size()) {
      const size_t len = utf8_char_length(text, valid_end);
      if (len == 0) break;
      valid_end += len;
    }
    if (valid_end > pos) {
      pieces.assign(1, text.substr(pos, valid_end - pos));
      for (const CodePtr& pass : regexes_->passes) {
        next.clear();
        for (std::string_view piece : pieces)
          split_valid_utf8(pass.get(), regexes_->class_runs.get(), data.get(), piece, next);
        pieces.swap(next);
      }
      out.insert(out.end(), pieces.begin(), pieces.end());
    }
    if (valid_end < text.size()) out.push_back(text.substr(valid_end, 1));
    pos = valid_end + 1;
  }
}

}  // namespace aded
