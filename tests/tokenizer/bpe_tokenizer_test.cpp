// Byte-level BPE: pre-tokenizer splits checked by hand, and encodings compared with a naive
// reference (quadratic merge loop) over a vocabulary learned here by a tiny BPE trainer.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "aded/error.h"
#include "aded/gguf.h"
#include "aded/tokenizer.h"
#include "tokenizer/bpe_pretokenizer.h"

namespace aded {
namespace {

using Pieces = std::vector<std::string>;

Pieces split(const std::string& pre, std::string_view text) {
  const auto views = BpePretokenizer(pre).split(text);
  return Pieces(views.begin(), views.end());
}

// ---------------------------------------------------------------------------------------------
// Pre-tokenizers, on hand-checked examples.

TEST(BpePretokenizer, Gpt2Splits) {
  EXPECT_EQ(split("gpt2", "Hello world"), (Pieces{"Hello", " world"}));
  EXPECT_EQ(split("gpt2", "don't stop"), (Pieces{"don", "'t", " stop"}));
  // Contractions are case-sensitive in GPT-2.
  EXPECT_EQ(split("gpt2", "I'M here"), (Pieces{"I", "'", "M", " here"}));
  // \s+(?!\S): a whitespace run before a word leaves its last space to the word.
  EXPECT_EQ(split("gpt2", "a   b"), (Pieces{"a", "  ", " b"}));
  EXPECT_EQ(split("gpt2", "x  "), (Pieces{"x", "  "}));
  EXPECT_EQ(split("gpt2", "12345 678"), (Pieces{"12345", " 678"}));
  EXPECT_EQ(split("gpt2", "hi\n\nthere"), (Pieces{"hi", "\n", "\n", "there"}));
  EXPECT_EQ(split("gpt2", "foo.bar()"), (Pieces{"foo", ".", "bar", "()"}));
  EXPECT_EQ(split("gpt2", "$100"), (Pieces{"$", "100"}));
  EXPECT_EQ(split("gpt2", "h\xC3\xA9llo w\xC3\xB6rld"), (Pieces{"h\xC3\xA9llo", " w\xC3\xB6rld"}));
  // Emoji, a skin-tone modifier and '!' are all "not letter, number or space".
  EXPECT_EQ(split("gpt2", "hi \xF0\x9F\x91\x8B\xF0\x9F\x8F\xBD!"),
            (Pieces{"hi", " \xF0\x9F\x91\x8B\xF0\x9F\x8F\xBD!"}));
  EXPECT_EQ(split("default", "don't stop"), split("gpt2", "don't stop"));
  EXPECT_EQ(split("", "a   b"), split("gpt2", "a   b"));
  EXPECT_TRUE(split("gpt2", "").empty());
}

TEST(BpePretokenizer, Llama3Splits) {
  for (const std::string name : {"llama3", "llama-bpe"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(split(name, "Hello world"), (Pieces{"Hello", " world"}));
    EXPECT_EQ(split(name, "don't"), (Pieces{"don", "'t"}));
    // Contractions are case-insensitive.
    EXPECT_EQ(split(name, "I'M here"), (Pieces{"I", "'M", " here"}));
    EXPECT_EQ(split(name, "WE'LL"), (Pieces{"WE", "'LL"}));
    // Digits in groups of at most three, never joined to a space.
    EXPECT_EQ(split(name, "12345"), (Pieces{"123", "45"}));
    EXPECT_EQ(split(name, "1234567"), (Pieces{"123", "456", "7"}));
    EXPECT_EQ(split(name, " 2024"), (Pieces{" ", "202", "4"}));
    EXPECT_EQ(split(name, "a   b"), (Pieces{"a", "  ", " b"}));
    EXPECT_EQ(split(name, "  hello"), (Pieces{" ", " hello"}));
    // Newline runs (with the spaces before them) are pre-tokens of their own.
    EXPECT_EQ(split(name, "hi\n\nthere"), (Pieces{"hi", "\n\n", "there"}));
    EXPECT_EQ(split(name, "x  \n  y"), (Pieces{"x", "  \n", " ", " y"}));
    EXPECT_EQ(split(name, "x;\n\ny"), (Pieces{"x", ";\n\n", "y"}));
    // One leading non-letter joins the word after it.
    EXPECT_EQ(split(name, "(hello)"), (Pieces{"(hello", ")"}));
    EXPECT_EQ(split(name, "foo.bar()"), (Pieces{"foo", ".bar", "()"}));
    EXPECT_EQ(split(name, "\ttab"), (Pieces{"\ttab"}));
    EXPECT_EQ(split(name, "$100"), (Pieces{"$", "100"}));
    EXPECT_EQ(split(name, "hi \xF0\x9F\x91\x8B\xF0\x9F\x8F\xBD!"),
              (Pieces{"hi", " \xF0\x9F\x91\x8B\xF0\x9F\x8F\xBD!"}));
  }
  EXPECT_TRUE(BpePretokenizer("llama3").ignore_merges());
  EXPECT_FALSE(BpePretokenizer("gpt2").ignore_merges());
}

TEST(BpePretokenizer, Qwen2Splits) {
  EXPECT_EQ(split("qwen2", "12345"), (Pieces{"1", "2", "3", "4", "5"}));
  EXPECT_EQ(split("qwen2", "x1y"), (Pieces{"x", "1", "y"}));
  EXPECT_EQ(split("qwen2", "I'M"), (Pieces{"I", "'M"}));
  EXPECT_EQ(split("qwen2", "hi\n\nthere"), (Pieces{"hi", "\n\n", "there"}));
  EXPECT_EQ(split("qwen2", "(hello) world"), (Pieces{"(hello", ")", " world"}));
  EXPECT_FALSE(BpePretokenizer("qwen2").ignore_merges());
}

TEST(BpePretokenizer, UnknownNameIsAnInputErrorListingTheSupportedOnes) {
  try {
    BpePretokenizer pre("chatglm-bpe");
    FAIL() << "no error";
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("'chatglm-bpe'"), std::string::npos) << message;
    EXPECT_NE(message.find("llama3"), std::string::npos) << message;
    EXPECT_NE(message.find("qwen2"), std::string::npos) << message;
  }
}

TEST(BpePretokenizer, InvalidUtf8BytesBecomeTheirOwnPretokens) {
  EXPECT_EQ(split("llama3",
                  "ab\xFF"
                  "cd"),
            (Pieces{"ab", "\xFF", "cd"}));
  EXPECT_EQ(split("llama3", "a \xC3"), (Pieces{"a", " ", "\xC3"}));            // truncated
  EXPECT_EQ(split("gpt2", "\xC0\x80"), (Pieces{"\xC0", "\x80"}));              // overlong
  EXPECT_EQ(split("gpt2", "\xED\xA0\x80"), (Pieces{"\xED", "\xA0", "\x80"}));  // surrogate
  EXPECT_EQ(split("gpt2", "\xF4\x90\x80\x80"), (Pieces{"\xF4", "\x90", "\x80", "\x80"}));
  EXPECT_EQ(split("gpt2", std::string("a\0b", 3)), (Pieces{"a", std::string(1, '\0'), "b"}));
}

// ---------------------------------------------------------------------------------------------
// Shared test material.

// GPT-2's bytes_to_unicode, written from its definition: printable bytes keep their code point,
// the others get 256, 257, ... in byte order.
std::vector<std::string> byte_symbol_table() {
  std::vector<int> printable;
  for (int b = '!'; b <= '~'; ++b) printable.push_back(b);
  for (int b = 0xA1; b <= 0xAC; ++b) printable.push_back(b);
  for (int b = 0xAE; b <= 0xFF; ++b) printable.push_back(b);
  std::vector<int> code_point(256, -1);
  for (int b : printable) code_point[static_cast<size_t>(b)] = b;
  int extra = 256;
  for (auto& cp : code_point)
    if (cp < 0) cp = extra++;
  std::vector<std::string> table;
  for (int cp : code_point) {
    std::string s;
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    table.push_back(s);
  }
  return table;
}

const std::vector<std::string>& byte_symbols() {
  static const auto table = byte_symbol_table();
  return table;
}

std::vector<std::string> to_symbols(std::string_view bytes) {
  std::vector<std::string> out;
  for (char c : bytes) out.push_back(byte_symbols()[static_cast<unsigned char>(c)]);
  return out;
}

// Training text and test strings: prose, contractions, code, numbers, whitespace runs, accents,
// CJK, Cyrillic, emoji.
constexpr std::string_view kTrainingText =
    "The quick brown fox jumps over the lazy dog.\n"
    "The dog doesn't care; the fox isn't lazy. I'M SURE WE'LL see THE fox again, won't we? "
    "They've\n"
    "said they'd come. It's 2024 and 1234567 people counted 3.14159 apples for $100.\n"
    "    def tokenize(text):  # the text is tokenized here\n"
    "        return [t for t in text.split(' ') if t]\n"
    "    for (int i = 0; i < 10; ++i) { sum += values[i] * 2; }\n"
    "Caf\xC3\xA9 cr\xC3\xA8me br\xC3\xBBl\xC3\xA9"
    "e na\xC3\xAFve \xC3\xBC\xC3\xB6\xC3\xA4 "
    "\xC3\xBC\xC3\xB6\xC3\xA4 stra\xC3\x9F"
    "e\n"
    "\xE4\xBD\xA0\xE5\xA5\xBD\xE4\xB8\x96\xE7\x95\x8C \xE4\xBD\xA0\xE5\xA5\xBD "
    "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82 \xD0\xBC\xD0\xB8\xD1\x80 "
    "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82\n"
    "\xF0\x9F\x98\x80\xF0\x9F\x98\x80 \xF0\x9F\x91\x8B\xF0\x9F\x8F\xBD hello \xF0\x9F\x98\x80 "
    "world!!\n"
    "the the the then there these those other another whether together\n"
    "\ttabs\tand  double  spaces   and    more\t\t\n"
    "\n"
    "end.";

// Random concatenations of awkward fragments.
std::vector<std::string> random_fragment_strings(unsigned seed, int count) {
  static const std::vector<std::string> fragments = {
      "a",
      "The",
      "the",
      " ",
      "  ",
      "\n",
      "\n\n",
      "\t",
      "\r\n",
      "don't",
      "I'M",
      "'s",
      "'LL",
      "'",
      "1",
      "23",
      "4567",
      "$",
      "(",
      ")",
      "{",
      "}",
      ";",
      "->",
      "==",
      "_",
      "x",
      "\xC3\xA9",
      "\xE4\xBD\xA0\xE5\xA5\xBD",
      "\xD0\xBC\xD0\xB8\xD1\x80",
      "\xF0\x9F\x98\x80",
      "\xF0\x9F\x91\x8B\xF0\x9F\x8F\xBD",
      "\xC2\xA0",
      "\xE3\x80\x80",
      "hello",
      "world",
      "<",
      ">",
      "|",
      "<|im_start|>",
      "<think>",
      "<|endoftext|>",
  };
  std::mt19937 rng(seed);
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) {
    std::string s;
    const auto parts = std::uniform_int_distribution<int>(1, 24)(rng);
    for (int k = 0; k < parts; ++k)
      s += fragments[std::uniform_int_distribution<size_t>(0, fragments.size() - 1)(rng)];
    out.push_back(s);
  }
  return out;
}

std::vector<std::string> sample_strings() {
  std::vector<std::string> samples = {
      "",
      " ",
      "  ",
      "\n",
      "Hello world",
      "Hello  world",
      " Hello world ",
      "don't",
      "DON'T",
      "I'M",
      "we'll they've she'd it's",
      "The quick brown fox jumps over the lazy dog.",
      "1234567890",
      " 42 and 007",
      "3.14159",
      "x = f(a, b) + g[c] * 2;\n",
      "    return [t for t in text.split(' ') if t]\n\n",
      "line1\r\nline2\r\n\r\n",
      "\t\ttabs\t",
      "a                b",
      "trailing spaces   ",
      "caf\xC3\xA9 cr\xC3\xA8me",
      "\xE4\xBD\xA0\xE5\xA5\xBD\xE4\xB8\x96\xE7\x95\x8C",
      "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82, \xD0\xBC\xD0\xB8\xD1\x80!",
      "\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80",
      "hi \xF0\x9F\x91\x8B\xF0\x9F\x8F\xBD!",
      "non\xC2\xA0"
      "breaking\xE3\x80\x80spaces",
      "the then there these those",
      std::string(kTrainingText),
  };
  const auto random = random_fragment_strings(1234, 300);
  samples.insert(samples.end(), random.begin(), random.end());
  return samples;
}

using Merge = std::pair<std::string, std::string>;

// Classic BPE training: count adjacent symbol pairs over the pre-tokens, merge the most frequent
// (ties: the smallest pair), repeat while some pair occurs at least twice.
std::vector<Merge> train_merges(std::string_view text, size_t count) {
  std::map<std::string, int> word_counts;
  for (auto w : BpePretokenizer("gpt2").split(text)) ++word_counts[std::string(w)];
  std::vector<std::pair<std::vector<std::string>, int>> words;
  for (const auto& [w, n] : word_counts) words.emplace_back(to_symbols(w), n);

  std::vector<Merge> merges;
  while (merges.size() < count) {
    std::map<Merge, int> pair_counts;
    for (const auto& [symbols, n] : words)
      for (size_t i = 0; i + 1 < symbols.size(); ++i)
        pair_counts[{symbols[i], symbols[i + 1]}] += n;
    if (pair_counts.empty()) break;
    auto best = pair_counts.begin();
    for (auto it = pair_counts.begin(); it != pair_counts.end(); ++it)
      if (it->second > best->second) best = it;
    if (best->second < 2) break;  // pairs seen once teach nothing
    const Merge merge = best->first;
    merges.push_back(merge);
    for (auto& [symbols, n] : words) {
      std::vector<std::string> merged;
      for (size_t i = 0; i < symbols.size(); ++i) {
        if (i + 1 < symbols.size() && symbols[i] == merge.first && symbols[i + 1] == merge.second) {
          merged.push_back(merge.first + merge.second);
          ++i;
        } else {
          merged.push_back(symbols[i]);
        }
      }
      symbols = std::move(merged);
    }
  }
  return merges;
}

struct SpecialPiece {
  std::string text;
  TokenKind kind;
};

// 256 byte symbols, one token per merge result, then the special pieces.
Vocab make_vocab(const std::string& pre, const std::vector<Merge>& merges,
                 const std::vector<SpecialPiece>& specials = {}) {
  Vocab v;
  v.model = "gpt2";
  v.pre = pre;
  v.add_bos = false;
  v.add_space_prefix = false;
  const auto add = [&](const std::string& piece, TokenKind kind) {
    if (v.piece_to_id.count(piece)) return;
    v.piece_to_id.emplace(piece, v.size());
    v.pieces.push_back(piece);
    v.kinds.push_back(kind);
  };
  for (const auto& symbol : byte_symbols()) add(symbol, TokenKind::Normal);
  for (const auto& [left, right] : merges) {
    add(left + right, TokenKind::Normal);
    v.merges.push_back(left + " " + right);
  }
  for (const auto& s : specials) add(s.text, s.kind);
  return v;
}

const std::vector<SpecialPiece>& chat_specials() {
  static const std::vector<SpecialPiece> specials = {
      {"<|endoftext|>", TokenKind::Control},
      {"<|begin_of_text|>", TokenKind::Control},
      {"<|im_start|>", TokenKind::Control},
      {"<|im_end|>", TokenKind::Control},
      {"<think>", TokenKind::UserDefined},
      {"h\xC3\xA9llo w\xC3\xB6rld", TokenKind::UserDefined},  // stored as plain UTF-8
  };
  return specials;
}

const std::vector<Merge>& trained_merges() {
  static const auto merges = [] {
    std::string corpus(kTrainingText);
    for (const auto& s : random_fragment_strings(42, 200)) corpus += s;
    return train_merges(corpus, 400);
  }();
  return merges;
}

Vocab trained_vocab(const std::string& pre) {
  Vocab v = make_vocab(pre, trained_merges(), chat_specials());
  v.bos = v.piece_to_id.at("<|begin_of_text|>");
  v.eos = v.piece_to_id.at("<|endoftext|>");
  return v;
}

// The naive reference: merge the lowest-ranked adjacent pair (leftmost on ties) until none is
// left, re-scanning the whole word each time.
class ReferenceBpe {
 public:
  explicit ReferenceBpe(const Vocab& vocab) : vocab_(vocab), pre_(vocab.pre) {
    for (size_t r = 0; r < vocab.merges.size(); ++r) {
      const auto& m = vocab.merges[r];
      const auto space = m.find(' ');
      ranks_.emplace(Merge{m.substr(0, space), m.substr(space + 1)}, r);
    }
  }

  std::vector<int32_t> encode(std::string_view text) const {
    std::vector<int32_t> out;
    for (auto word : pre_.split(text))
      for (const auto& piece : merge_word(word)) out.push_back(vocab_.piece_to_id.at(piece));
    return out;
  }

 private:
  std::vector<std::string> merge_word(std::string_view word) const {
    auto symbols = to_symbols(word);
    if (pre_.ignore_merges()) {
      std::string whole;
      for (const auto& s : symbols) whole += s;
      if (vocab_.piece_to_id.count(whole)) return {whole};
    }
    for (;;) {
      size_t best = symbols.size();
      size_t best_rank = std::numeric_limits<size_t>::max();
      for (size_t i = 0; i + 1 < symbols.size(); ++i) {
        const auto it = ranks_.find({symbols[i], symbols[i + 1]});
        if (it != ranks_.end() && it->second < best_rank) best = i, best_rank = it->second;
      }
      if (best == symbols.size()) return symbols;
      symbols[best] += symbols[best + 1];
      symbols.erase(symbols.begin() + static_cast<long>(best) + 1);
    }
  }

  const Vocab& vocab_;
  BpePretokenizer pre_;
  std::map<Merge, size_t> ranks_;
};

std::string concat_bytes(const Tokenizer& tok, const std::vector<int32_t>& ids) {
  std::string s;
  for (auto id : ids) s += tok.token_bytes(id);
  return s;
}

// ---------------------------------------------------------------------------------------------
// The tokenizer.

TEST(BpeTokenizer, TrainerLearnedMultiByteMerges) {
  const auto& merges = trained_merges();
  EXPECT_GT(merges.size(), 100u);
  const auto vocab = trained_vocab("gpt2");
  EXPECT_TRUE(vocab.piece_to_id.count("\xC4\xA0the"));       // "Ġthe"
  EXPECT_TRUE(vocab.piece_to_id.count("\xC3\x83\xC2\xA9"));  // "Ã©", the bytes of "é"
  const auto tok = Tokenizer::from_vocab(vocab);
  EXPECT_LT(tok->encode(" the", false).size(), 2u);
}

TEST(BpeTokenizer, MatchesTheNaiveReferenceOnManyStrings) {
  const auto samples = sample_strings();
  for (const std::string pre : {"gpt2", "llama3", "qwen2"}) {
    SCOPED_TRACE(pre);
    auto vocab = trained_vocab(pre);
    // The naive reference knows merges only: user-defined tokens, which the tokenizer always emits
    // whole, become control tokens here (looked for only when special tokens are parsed).
    for (auto& kind : vocab.kinds)
      if (kind == TokenKind::UserDefined) kind = TokenKind::Control;
    const ReferenceBpe reference(vocab);
    const auto tok = Tokenizer::from_vocab(vocab);
    for (const auto& s : samples) {
      ASSERT_EQ(tok->encode(s, false), reference.encode(s)) << "text: '" << s << "'";
    }
  }
}

TEST(BpeTokenizer, EqualRanksMergeLeftmostFirst) {
  // "a a" merges; "aaa" -> "aa" + "a", not "a" + "aa"; "aaaa" -> "aaaa" via "aa aa".
  const auto vocab = make_vocab("gpt2", {{"a", "a"}, {"aa", "aa"}, {"a", "aa"}});
  const auto tok = Tokenizer::from_vocab(vocab);
  const auto id = [&](const std::string& p) { return vocab.piece_to_id.at(p); };
  EXPECT_EQ(tok->encode("aaa", false), (std::vector<int32_t>{id("aa"), id("a")}));
  EXPECT_EQ(tok->encode("aaaa", false), (std::vector<int32_t>{id("aaaa")}));
  EXPECT_EQ(tok->encode("aaaaa", false), (std::vector<int32_t>{id("aaaa"), id("a")}));
}

TEST(BpeTokenizer, LowerRankWinsOverPosition) {
  const auto vocab = make_vocab("gpt2", {{"b", "c"}, {"a", "b"}, {"a", "bc"}});
  const auto tok = Tokenizer::from_vocab(vocab);
  // "b c" (rank 0) goes first even though "a b" is further left, then "a bc".
  EXPECT_EQ(tok->encode("abc", false), (std::vector<int32_t>{vocab.piece_to_id.at("abc")}));
}

TEST(BpeTokenizer, Llama3KeepsWholeVocabularyWords) {
  // "a b" wins over "b c", and nothing merges "ab c": merges alone give "ab" + "c".
  auto vocab = make_vocab("gpt2", {{"a", "b"}, {"b", "c"}, {"a", "bc"}});
  const auto id = [&](const std::string& p) { return vocab.piece_to_id.at(p); };
  EXPECT_EQ(Tokenizer::from_vocab(vocab)->encode("abc", false),
            (std::vector<int32_t>{id("ab"), id("c")}));
  vocab.pre = "qwen2";
  EXPECT_EQ(Tokenizer::from_vocab(vocab)->encode("abc", false),
            (std::vector<int32_t>{id("ab"), id("c")}));
  vocab.pre = "llama3";
  EXPECT_EQ(Tokenizer::from_vocab(vocab)->encode("abc", false), (std::vector<int32_t>{id("abc")}));
}

TEST(BpeTokenizer, SpacesAndControlBytesUseTheirByteSymbols) {
  const auto tok = Tokenizer::from_vocab(make_vocab("gpt2", {}));
  const auto& v = tok->vocab();
  EXPECT_EQ(tok->encode(" ", false), (std::vector<int32_t>{v.piece_to_id.at("\xC4\xA0")}));   // Ġ
  EXPECT_EQ(tok->encode("\n", false), (std::vector<int32_t>{v.piece_to_id.at("\xC4\x8A")}));  // Ċ
  EXPECT_EQ(tok->token_bytes(v.piece_to_id.at("\xC4\xA0")), " ");
  EXPECT_EQ(tok->token_bytes(v.piece_to_id.at("\xC4\x8A")), "\n");
  EXPECT_EQ(tok->token_bytes(v.piece_to_id.at("\xC3\xA9")), "\xE9");  // é stands for byte 0xE9
  for (int b = 0; b < 256; ++b) {
    const std::string byte(1, static_cast<char>(b));
    const auto ids = tok->encode(byte, false);
    ASSERT_EQ(ids.size(), 1u) << b;
    EXPECT_EQ(tok->token_bytes(ids[0]), byte) << b;
  }
}

TEST(BpeTokenizer, ControlTokensAreSplitOutOnlyWhenAsked) {
  const auto vocab = trained_vocab("llama3");
  const auto tok = Tokenizer::from_vocab(vocab);
  const auto id = [&](const std::string& p) { return vocab.piece_to_id.at(p); };
  const auto plain = [&](std::string_view s) { return tok->encode(s, false, false); };
  const auto join = [](std::vector<std::vector<int32_t>> parts) {
    std::vector<int32_t> out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
  };

  const std::string chat = "<|im_start|>user\nhi there<|im_end|>\n<|im_start|>assistant\n";
  EXPECT_EQ(tok->encode(chat, false, true), join({{id("<|im_start|>")},
                                                  plain("user\nhi there"),
                                                  {id("<|im_end|>")},
                                                  plain("\n"),
                                                  {id("<|im_start|>")},
                                                  plain("assistant\n")}));
  // Without parse_special the markup is ordinary text.
  const auto as_text = tok->encode(chat, false, false);
  EXPECT_EQ(std::count(as_text.begin(), as_text.end(), id("<|im_start|>")), 0);
  EXPECT_EQ(concat_bytes(*tok, as_text), chat);

  // User-defined tokens too, including one with a space and non-ASCII letters.
  EXPECT_EQ(tok->encode("<think>x</think>", false, true),
            join({{id("<think>")}, plain("x</think>")}));
  EXPECT_EQ(tok->encode("say h\xC3\xA9llo w\xC3\xB6rld!", false, true),
            join({plain("say "), {id("h\xC3\xA9llo w\xC3\xB6rld")}, plain("!")}));
  // Unlike control tokens, user-defined ones are emitted whole without parse_special too (the
  // original tokenizers' added tokens: MPT's runs of spaces, DeepSeek Coder's letters).
  EXPECT_EQ(tok->encode("a<think>x", false, false), join({plain("a"), {id("<think>")}, plain("x")}));
  // Adjacent, at both ends, and a partial one that stays text.
  EXPECT_EQ(tok->encode("<|endoftext|><|endoftext|>", false, true),
            (std::vector<int32_t>{id("<|endoftext|>"), id("<|endoftext|>")}));
  EXPECT_EQ(tok->encode("<|im_sta<|im_end|>", false, true),
            join({plain("<|im_sta"), {id("<|im_end|>")}}));
  EXPECT_EQ(tok->encode("<|im_start|", false, true), plain("<|im_start|"));
}

TEST(BpeTokenizer, LongestSpecialTokenWins) {
  auto vocab =
      make_vocab("gpt2", {}, {{"<a>", TokenKind::Control}, {"<a><b>", TokenKind::Control}});
  const auto tok = Tokenizer::from_vocab(vocab);
  const auto id = [&](const std::string& p) { return vocab.piece_to_id.at(p); };
  EXPECT_EQ(tok->encode("<a><b><a>", false, true), (std::vector<int32_t>{id("<a><b>"), id("<a>")}));
}

TEST(BpeTokenizer, TokenBytes) {
  auto vocab = trained_vocab("gpt2");
  // A normal piece with a character outside the byte symbols is taken as plain UTF-8.
  vocab.pieces.push_back("snow\xE2\x98\x83");
  vocab.kinds.push_back(TokenKind::Normal);
  vocab.piece_to_id.emplace(vocab.pieces.back(), vocab.size() - 1);
  const auto tok = Tokenizer::from_vocab(vocab);
  const auto id = [&](const std::string& p) { return vocab.piece_to_id.at(p); };
  EXPECT_EQ(tok->token_bytes(id("<|endoftext|>")), "");
  EXPECT_EQ(tok->token_bytes(id("<think>")), "<think>");
  EXPECT_EQ(tok->token_bytes(id("h\xC3\xA9llo w\xC3\xB6rld")), "h\xC3\xA9llo w\xC3\xB6rld");
  EXPECT_EQ(tok->token_bytes(id("\xC4\xA0the")), " the");
  EXPECT_EQ(tok->token_bytes(id("snow\xE2\x98\x83")), "snow\xE2\x98\x83");
  EXPECT_EQ(tok->token_bytes(-1), "");
  EXPECT_EQ(tok->token_bytes(tok->size()), "");
  EXPECT_EQ(tok->decode({id("<|begin_of_text|>"), id("\xC4\xA0the"), id("<|endoftext|>")}), " the");
}

TEST(BpeTokenizer, DecodeOfEncodeRoundTrips) {
  for (const std::string pre : {"gpt2", "llama3", "qwen2"}) {
    SCOPED_TRACE(pre);
    const auto tok = Tokenizer::from_vocab(trained_vocab(pre));
    for (const auto& s : sample_strings()) {
      EXPECT_EQ(tok->decode(tok->encode(s, true)), s);
      if (s.find("<|") == std::string::npos) {
        EXPECT_EQ(tok->decode(tok->encode(s, false, true)), s);
      }
    }
  }
}

TEST(BpeTokenizer, AddBosOnlyWhenTheCallerAsks) {
  auto vocab = trained_vocab("llama3");
  const int32_t bos = vocab.bos;
  auto tok = Tokenizer::from_vocab(vocab);
  EXPECT_EQ(tok->encode("hi", true).front(), bos);
  EXPECT_NE(tok->encode("hi", false).front(), bos);
  EXPECT_EQ(tok->encode("", true), (std::vector<int32_t>{bos}));
  EXPECT_FALSE(tok->add_bos_by_default());
  vocab.bos = -1;
  tok = Tokenizer::from_vocab(vocab);
  EXPECT_EQ(tok->encode("hi", true), tok->encode("hi", false));
}

TEST(BpeTokenizer, InvalidUtf8KeepsEveryByte) {
  const auto tok = Tokenizer::from_vocab(trained_vocab("llama3"));
  const std::vector<std::string> bad = {
      "\xFF",
      "ab\xFF"
      "cd",
      "\xC3",
      "caf\xC3",
      "\xC0\x80",
      "\xED\xA0\x80",
      "\xF4\x90\x80\x80",
      "\xE4\xBD",
      "\x80\x80\x80 hello",
      std::string("nul\0byte", 8),
      "<|im_\xFF"
      "start|>",
  };
  for (const auto& s : bad) {
    for (bool special : {false, true}) {
      const auto ids = tok->encode(s, false, special);
      EXPECT_EQ(concat_bytes(*tok, ids), s);
      EXPECT_FALSE(tok->decode(ids).empty());
    }
  }
  std::mt19937 rng(99);
  for (int i = 0; i < 500; ++i) {
    std::string s(std::uniform_int_distribution<size_t>(0, 40)(rng), '\0');
    for (auto& c : s) c = static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
    ASSERT_EQ(concat_bytes(*tok, tok->encode(s, false)), s);
    tok->encode(s, true, true);
  }
}

TEST(BpeTokenizer, UnknownPretokenizerIsAnInputError) {
  auto vocab = trained_vocab("gpt2");
  vocab.pre = "chatglm-bpe";
  try {
    Tokenizer::from_vocab(vocab);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("'chatglm-bpe'"), std::string::npos) << e.what();
  }
}

TEST(BpeTokenizer, OneMegabyteInputsFinish) {
  constexpr size_t kSize = 1 << 20;
  const auto repeat = [&](std::string_view unit) {
    std::string s;
    while (s.size() < kSize) s += unit;
    return s;
  };
  std::string random_bytes(kSize, '\0');
  std::mt19937 rng(7);
  for (auto& c : random_bytes) c = static_cast<char>(rng());
  const std::vector<std::string> inputs = {
      repeat(kTrainingText), repeat(" "),   repeat("a"), repeat("7"),
      repeat("\n"),          repeat(" \n"), repeat("!"), repeat("\xF0\x9F\x98\x80"),
      repeat("<|im_"),       random_bytes,
  };
  for (const std::string pre : {"gpt2", "llama3", "qwen2"}) {
    const auto tok = Tokenizer::from_vocab(trained_vocab(pre));
    for (size_t i = 0; i < inputs.size(); ++i) {
      SCOPED_TRACE(pre + " input " + std::to_string(i));
      EXPECT_EQ(concat_bytes(*tok, tok->encode(inputs[i], false, true)), inputs[i]);
    }
  }
  // PCRE2's interpreter has match limits the JIT does not: it must split huge runs the same way.
  const BpePretokenizer jit("llama3"), interpreted("llama3", /*use_jit=*/false);
  for (size_t i = 0; i < inputs.size(); ++i)
    EXPECT_EQ(interpreted.split(inputs[i]), jit.split(inputs[i])) << "input " << i;
}

TEST(BpePretokenizer, JitAndInterpreterAgree) {
  for (const std::string pre : {"gpt2", "llama3", "qwen2"}) {
    const BpePretokenizer jit(pre), interpreted(pre, false);
    for (const auto& s : sample_strings()) EXPECT_EQ(jit.split(s), interpreted.split(s)) << s;
  }
}

TEST(BpeTokenizer, LoadsFromGgufMetadata) {
  const auto vocab = trained_vocab("qwen2");
  GgufWriter w;
  w.set_string("general.architecture", "qwen2");
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", "qwen2");
  w.set_string_array("tokenizer.ggml.tokens", vocab.pieces);
  std::vector<int32_t> types;
  for (auto k : vocab.kinds) types.push_back(static_cast<int32_t>(k));
  w.set_i32_array("tokenizer.ggml.token_type", types);
  w.set_string_array("tokenizer.ggml.merges", vocab.merges);
  w.set_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(vocab.bos));
  w.set_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(vocab.eos));
  w.set_bool("tokenizer.ggml.add_bos_token", true);
  const auto file = GgufFile::parse(MappedFile::from_bytes(w.to_bytes(), "vocab.gguf"));

  const auto tok = Tokenizer::from_gguf(file);
  const auto& v = tok->vocab();
  EXPECT_EQ(v.model, "gpt2");
  EXPECT_EQ(v.pre, "qwen2");
  EXPECT_EQ(v.pieces, vocab.pieces);
  EXPECT_EQ(v.kinds, vocab.kinds);
  EXPECT_EQ(v.merges, vocab.merges);
  EXPECT_EQ(tok->bos(), vocab.bos);
  EXPECT_EQ(tok->eos(), vocab.eos);
  EXPECT_TRUE(tok->add_bos_by_default());
  EXPECT_TRUE(tok->is_end_of_generation(vocab.eos));

  const auto direct = Tokenizer::from_vocab(vocab);
  for (const auto& s : sample_strings()) {
    ASSERT_EQ(tok->encode(s, true, true), direct->encode(s, true, true)) << s;
    ASSERT_EQ(tok->decode(tok->encode(s, false)), s);
  }
}

TEST(BpeTokenizer, MalformedMergeIsAnInputError) {
  auto vocab = make_vocab("gpt2", {{"a", "b"}});
  vocab.merges.push_back("nospace");
  EXPECT_THROW(Tokenizer::from_vocab(vocab), InputError);
}

}  // namespace
}  // namespace aded
