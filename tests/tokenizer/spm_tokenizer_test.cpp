// The SentencePiece-style tokenizer: logic on tiny hand-made vocabularies, then token-for-token
// agreement with SentencePiece itself on Llama 2's vocabulary (goldens written by
// tests/data/tokenizer/make_spm_goldens.py).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "aded/error.h"
#include "aded/gguf.h"
#include "aded/tokenizer.h"
#include "support/test_support.h"
#include "tokenizer/spm_merge.h"
#include "tokenizer/tokenizer_test_helpers.h"

namespace aded {
namespace {

using Ids = std::vector<int32_t>;

using aded::testing::kSpace;
using aded::testing::pieces_of;

// Builds a small SentencePiece vocabulary: <unk>, <s>, </s>, optionally 256 byte tokens, then the
// pieces added with add().
class TinyVocab {
 public:
  explicit TinyVocab(bool with_bytes = true) {
    add("<unk>", 0, TokenKind::Unknown);
    add("<s>", 0, TokenKind::Control);
    add("</s>", 0, TokenKind::Control);
    vocab_.unk = 0, vocab_.bos = 1, vocab_.eos = 2;
    if (with_bytes) {
      for (int b = 0; b < 256; ++b) add(fmt::format("<0x{:02X}>", b), 0, TokenKind::Byte);
    }
  }
  TinyVocab& add(const std::string& piece, float score, TokenKind kind = TokenKind::Normal) {
    vocab_.pieces.push_back(piece);
    vocab_.scores.push_back(score);
    vocab_.kinds.push_back(kind);
    vocab_.piece_to_id.emplace(piece, static_cast<int32_t>(vocab_.pieces.size() - 1));
    return *this;
  }
  TinyVocab& space_prefix(bool on) {
    vocab_.add_space_prefix = on;
    return *this;
  }
  int32_t id(const std::string& piece) const { return vocab_.piece_to_id.at(piece); }
  std::unique_ptr<Tokenizer> build() const { return Tokenizer::from_vocab(vocab_); }

 private:
  Vocab vocab_ = [] {
    Vocab v;
    v.model = "llama";
    return v;
  }();
};

// The id of byte token <0xHH>, in TinyVocab and in Llama 2's vocabulary alike.
int32_t byte_id(int b) {
  return 3 + b;
}

TEST(SpmTokenizer, MergesTheHighestScoringPairFirst) {
  TinyVocab v;
  v.space_prefix(false).add("a", -1).add("b", -1).add("c", -1).add("ab", -3).add("bc", -2);
  auto tok = v.build();
  // "bc" outscores "ab", so "a" is left alone.
  EXPECT_EQ(tok->encode("abc", false), (Ids{v.id("a"), v.id("bc")}));
}

TEST(SpmTokenizer, MergesRepeatUntilNoPairIsInTheVocabulary) {
  TinyVocab v;
  v.space_prefix(false).add("a", -1).add("b", -1).add("c", -1).add("ab", -3).add("bc", -2);
  v.add("abc", -5);
  auto tok = v.build();
  EXPECT_EQ(tok->encode("abc", false), (Ids{v.id("abc")}));
  EXPECT_EQ(tok->encode("abcab", false), (Ids{v.id("abc"), v.id("ab")}));
}

TEST(SpmTokenizer, EqualScoresMergeLeftmostFirst) {
  TinyVocab v;
  v.space_prefix(false).add("a", -1).add("aa", -2);
  auto tok = v.build();
  EXPECT_EQ(tok->encode("aaa", false), (Ids{v.id("aa"), v.id("a")}));
  EXPECT_EQ(tok->encode("aaaaa", false), (Ids{v.id("aa"), v.id("aa"), v.id("a")}));
}

TEST(SpmTokenizer, AddsTheDummyPrefixAndTurnsSpacesIntoSpaceSymbols) {
  TinyVocab v;
  v.add(kSpace, -1).add("a", -1).add(kSpace + "a", -2).add(kSpace + kSpace, -3);
  auto tok = v.build();
  const auto sp = v.id(kSpace), sp_a = v.id(kSpace + "a"), sp_sp = v.id(kSpace + kSpace);
  EXPECT_EQ(tok->encode("a a", false), (Ids{sp_a, sp_a}));
  EXPECT_EQ(tok->encode(" a", false), (Ids{sp, sp_a}));
  EXPECT_EQ(tok->encode("a  ", false), (Ids{sp_a, sp_sp}));
  EXPECT_EQ(tok->encode("", false), Ids{});  // no dummy prefix for empty text
  EXPECT_EQ(tok->encode("", true), Ids{1});
}

TEST(SpmTokenizer, NoDummyPrefixWhenTheVocabularySaysSo) {
  TinyVocab v;
  v.space_prefix(false).add(kSpace, -1).add("a", -1).add(kSpace + "a", -2);
  auto tok = v.build();
  EXPECT_EQ(tok->encode("a a", false), (Ids{v.id("a"), v.id(kSpace + "a")}));
}

TEST(SpmTokenizer, UnknownCharactersFallBackToBytes) {
  TinyVocab v;
  v.space_prefix(false).add("a", -1);
  auto tok = v.build();
  EXPECT_EQ(tok->encode(std::string("a\xC3\xA9") + "a", false),
            (Ids{v.id("a"), byte_id(0xC3), byte_id(0xA9), v.id("a")}));
}

TEST(SpmTokenizer, UnknownCharactersBecomeUnkWithoutByteTokens) {
  TinyVocab v(/*with_bytes=*/false);
  v.space_prefix(false).add("a", -1);
  auto tok = v.build();
  // One unk per unknown symbol (a character), as SentencePiece's BPE model does.
  EXPECT_EQ(tok->encode(std::string("a\xC3\xA9\xE2\x82\xAC") + "a", false),
            (Ids{v.id("a"), 0, 0, v.id("a")}));
}

TEST(SpmTokenizer, InvalidUtf8BytesFallBackOneByOne) {
  TinyVocab v;
  v.space_prefix(false).add("a", -1);
  auto tok = v.build();
  // A stray continuation byte, a truncated 3-byte sequence, an overlong form, a surrogate.
  EXPECT_EQ(tok->encode(std::string("\x80") + "a\xE2\x82", false),
            (Ids{byte_id(0x80), v.id("a"), byte_id(0xE2), byte_id(0x82)}));
  EXPECT_EQ(tok->encode("\xC0\xAF", false), (Ids{byte_id(0xC0), byte_id(0xAF)}));
  EXPECT_EQ(tok->encode("\xED\xA0\x80", false), (Ids{byte_id(0xED), byte_id(0xA0), byte_id(0x80)}));
}

TEST(SpmTokenizer, Utf8CharacterLengths) {
  EXPECT_EQ(utf8_char_length("a"), 1u);
  EXPECT_EQ(utf8_char_length("\xC3\xA9"), 2u);
  EXPECT_EQ(utf8_char_length("\xE2\x82\xAC"), 3u);
  EXPECT_EQ(utf8_char_length("\xF0\x9F\x98\x80"), 4u);
  EXPECT_EQ(utf8_char_length("\xF0\x9F\x98"), 1u);      // truncated
  EXPECT_EQ(utf8_char_length("\xE0\x80\x80"), 1u);      // overlong
  EXPECT_EQ(utf8_char_length("\xF4\x90\x80\x80"), 1u);  // above U+10FFFF
  EXPECT_EQ(utf8_char_length("\xFF"), 1u);
}

TEST(SpmTokenizer, ParseSpecialTurnsControlTextIntoControlTokens) {
  TinyVocab v;
  v.add(kSpace, -1).add("a", -1).add(kSpace + "a", -2).add("<", -1).add("s", -1).add(">", -1);
  auto tok = v.build();
  const auto sp_a = v.id(kSpace + "a");
  // Each text fragment gets its own dummy prefix, as llama.cpp does.
  EXPECT_EQ(tok->encode("<s>a</s>a", false, true), (Ids{1, sp_a, 2, sp_a}));
  EXPECT_EQ(tok->encode("<s></s>", true, true), (Ids{1, 1, 2}));
  // Without parse_special the text is just text.
  const Ids plain = tok->encode("<s>", false, false);
  EXPECT_EQ(plain, (Ids{v.id(kSpace), v.id("<"), v.id("s"), v.id(">")}));
}

TEST(SpmTokenizer, ParseSpecialPrefersTheLongestControlPieceAtAPosition) {
  TinyVocab v;
  v.space_prefix(false).add("x", -1).add("<s>x", 0, TokenKind::Control);
  auto tok = v.build();
  EXPECT_EQ(tok->encode("<s>x<s>", false, true), (Ids{v.id("<s>x"), 1}));
}

TEST(SpmTokenizer, UserDefinedPiecesAreKeptWholeAndNeverMerged) {
  TinyVocab v;
  v.space_prefix(false).add("a", -1).add("b", -1).add("ab", -2);
  v.add("<tag>", 0, TokenKind::UserDefined).add("b<tag>", 10);
  auto tok = v.build();
  // With or without parse_special, as SentencePiece does; "b<tag>" can never form.
  for (bool parse_special : {false, true}) {
    EXPECT_EQ(tok->encode("ab<tag>ab", false, parse_special),
              (Ids{v.id("ab"), v.id("<tag>"), v.id("ab")}));
  }
}

TEST(SpmTokenizer, UnusedPiecesAreSplitBackIntoTheirParts) {
  TinyVocab v;
  v.space_prefix(false).add("a", -1).add("b", -1).add("c", -1);
  v.add("ab", -2, TokenKind::Unused).add("abc", -3);
  auto tok = v.build();
  EXPECT_EQ(tok->encode("ab", false), (Ids{v.id("a"), v.id("b")}));
  EXPECT_EQ(tok->encode("abc", false), (Ids{v.id("abc")}));  // merged through "ab"
}

TEST(SpmTokenizer, ControlAndByteTokensAreNeverMergeResults) {
  TinyVocab v;
  v.space_prefix(false).add("<", -1).add("s", -1).add(">", -1).add("<s", -2);
  auto tok = v.build();
  EXPECT_EQ(tok->encode("<s>", false), (Ids{v.id("<s"), v.id(">")}));
}

TEST(SpmTokenizer, TokenBytes) {
  TinyVocab v;
  v.add(kSpace + "a" + kSpace, -1);
  auto tok = v.build();
  EXPECT_EQ(tok->token_bytes(byte_id(0x41)), "A");
  EXPECT_EQ(tok->token_bytes(byte_id(0xFF)), "\xFF");
  EXPECT_EQ(tok->token_bytes(v.id(kSpace + "a" + kSpace)), " a ");
  EXPECT_EQ(tok->token_bytes(1), "");
  EXPECT_EQ(tok->token_bytes(2), "");
  EXPECT_EQ(tok->token_bytes(0), " \xE2\x81\x87 ");  // SentencePiece's unk surface " ⁇ "
  EXPECT_EQ(tok->token_bytes(-1), "");
  EXPECT_EQ(tok->token_bytes(tok->size()), "");
}

TEST(SpmTokenizer, DecodeRoundTripsOnATinyVocabulary) {
  TinyVocab v;
  v.add(kSpace, -1).add("a", -1).add(kSpace + "a", -2).add("b", -1).add("ab", -3);
  auto tok = v.build();
  for (const std::string text : {"a", " a", "ab  ab\n", "\xC3\xA9t\xC3\xA9", "", "  "}) {
    EXPECT_EQ(tok->decode(tok->encode(text, false)), text);
    EXPECT_EQ(tok->decode(tok->encode(text, true)), text);
  }
}

TEST(SpmTokenizer, HandMadeVocabularyMayLeaveOutKindsAndScores) {
  Vocab v;
  v.model = "llama";
  v.pieces = {"a", "b", "ab"};
  auto tok = Tokenizer::from_vocab(v);
  EXPECT_EQ(tok->encode("ab", false), Ids{2});
  EXPECT_EQ(tok->decode({2}), "ab");
}

TEST(SpmTokenizer, RejectsSpecialIdsOutsideTheVocabulary) {
  Vocab v;
  v.model = "llama";
  v.pieces = {"a"};
  v.bos = 5;
  EXPECT_THROW(Tokenizer::from_vocab(v), InputError);
}

TEST(SpmTokenizer, LongRepetitiveInputIsNotQuadratic) {
  TinyVocab v;
  v.add(kSpace, -1).add("a", -1).add("aa", -2).add("aaaa", -3).add(kSpace + "a", -1);
  auto tok = v.build();
  const std::string text(1 << 20, 'a');
  const Ids ids = tok->encode(text, false);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(tok->decode(ids), text);
}

// --- Llama 2's vocabulary against SentencePiece ----------------------------------------------

struct Golden {
  std::string text;
  Ids ids;
};

std::vector<Golden> load_goldens() {
  const auto path = testing::test_data() / "tokenizer" / "llama2_spm_goldens.jsonl";
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  std::vector<Golden> goldens;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line);
    goldens.push_back({j.at("text").get<std::string>(), j.at("ids").get<Ids>()});
  }
  return goldens;
}

// Text with control bytes escaped, for failure messages.
std::string printable(const std::string& text) {
  std::string out;
  for (const char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7F)
      out += fmt::format("\\x{:02x}", b);
    else
      out += c;
  }
  return out;
}

class SpmLlama2 : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (testing::shared_data().empty()) return;
    const auto path =
        testing::shared_data() / "tokenizers" / "llama2-spm-32000" / "ggml-vocab-llama-spm.gguf";
    tok_ = Tokenizer::from_gguf(GgufFile::open(path.string())).release();
    goldens_ = new std::vector<Golden>(load_goldens());
  }
  static void TearDownTestSuite() {
    delete tok_;
    delete goldens_;
    tok_ = nullptr;
    goldens_ = nullptr;
  }
  void SetUp() override { ADED_REQUIRE_SHARED_DATA(); }

  const Tokenizer& tok() const { return *tok_; }
  const std::vector<Golden>& goldens() const { return *goldens_; }

  static const Tokenizer* tok_;
  static const std::vector<Golden>* goldens_;
};

const Tokenizer* SpmLlama2::tok_ = nullptr;
const std::vector<Golden>* SpmLlama2::goldens_ = nullptr;

TEST_F(SpmLlama2, MatchesSentencePieceOnEveryGolden) {
  ASSERT_GE(goldens().size(), 1200u);
  size_t mismatches = 0;
  for (const auto& g : goldens()) {
    const Ids got = tok().encode(g.text, /*add_bos=*/false, /*parse_special=*/false);
    if (got == g.ids) continue;
    if (++mismatches <= 10) {
      ADD_FAILURE() << "text: \"" << printable(g.text) << "\"\n  expected "
                    << ::testing::PrintToString(g.ids) << " "
                    << ::testing::PrintToString(pieces_of(tok(), g.ids)) << "\n  got      "
                    << ::testing::PrintToString(got) << " "
                    << ::testing::PrintToString(pieces_of(tok(), got));
    }
  }
  EXPECT_EQ(mismatches, 0u) << "of " << goldens().size() << " goldens";
}

TEST_F(SpmLlama2, DecodeGivesBackTheText) {
  for (const auto& g : goldens()) {
    // A literal "▁" in the text comes back as a space, as in SentencePiece.
    if (g.text.find(kSpace) != std::string::npos) continue;
    const Ids ids = tok().encode(g.text, false);
    EXPECT_EQ(tok().decode(ids), g.text) << "text: \"" << printable(g.text) << "\"";
    Ids with_bos{tok().bos()};
    with_bos.insert(with_bos.end(), ids.begin(), ids.end());
    EXPECT_EQ(tok().decode(with_bos), g.text) << "text: \"" << printable(g.text) << "\"";
  }
}

TEST_F(SpmLlama2, AddsBosOnRequest) {
  EXPECT_EQ(tok().bos(), 1);
  EXPECT_EQ(tok().eos(), 2);
  EXPECT_TRUE(tok().add_bos_by_default());
  EXPECT_EQ(tok().encode("hello world", true), (Ids{1, 22172, 3186}));
  EXPECT_EQ(tok().encode("hello world", false), (Ids{22172, 3186}));
  EXPECT_EQ(tok().encode("", true), Ids{1});
}

TEST_F(SpmLlama2, ParseSpecial) {
  EXPECT_EQ(tok().encode("<s>hello</s>", false, true), (Ids{1, 22172, 2}));
  EXPECT_EQ(tok().encode("<s>hello</s>", false, false),
            (Ids{529, 29879, 29958, 12199, 829, 29879, 29958}));
  // Text after a control token gets its own dummy prefix: "[INST]" as if encoded alone.
  Ids expected{2, 1};
  const Ids inst = tok().encode("[INST] hi", false);
  expected.insert(expected.end(), inst.begin(), inst.end());
  EXPECT_EQ(tok().encode("</s><s>[INST] hi", false, true), expected);
  // <unk> is not a control token: it stays text.
  EXPECT_EQ(tok().encode("<unk>", false, true), tok().encode("<unk>", false, false));
}

TEST_F(SpmLlama2, ByteFallbackAndTokenBytes) {
  EXPECT_EQ(tok().encode("\xF0\x9F\x98\x80", false), (Ids{29871, 243, 162, 155, 131}));  // 😀
  EXPECT_EQ(tok().token_bytes(243), "\xF0");
  EXPECT_EQ(tok().token_bytes(13), "\n");
  EXPECT_EQ(tok().token_bytes(29871), " ");
  EXPECT_EQ(tok().token_bytes(22172), " hello");
  EXPECT_EQ(tok().token_bytes(1), "");
  EXPECT_EQ(tok().token_bytes(0), " \xE2\x81\x87 ");
}

TEST_F(SpmLlama2, InvalidUtf8KeepsItsBytes) {
  // SentencePiece would first replace 0xFF by U+FFFD; the byte is kept here instead.
  EXPECT_EQ(tok().encode(std::string("a\xFF") + "b", false), (Ids{263, byte_id(0xFF), 29890}));
  std::mt19937 rng(1234);
  for (int round = 0; round < 300; ++round) {
    std::string text(rng() % 64, '\0');
    for (auto& c : text) c = static_cast<char>(rng() % 256);
    const Ids ids = tok().encode(text, false, round % 2 == 0);
    std::string bytes;
    for (auto id : ids) {
      ASSERT_TRUE(tok().valid(id));
      bytes += tok().token_bytes(id);
    }
    // Every input byte is in the output: a space for the dummy prefix, spaces stay spaces.
    if (round % 2 == 1 && !text.empty() && text.find(kSpace) == std::string::npos) {
      EXPECT_EQ(bytes, " " + text);
    }
    (void)tok().decode(ids);
  }
}

TEST_F(SpmLlama2, LongInputs) {
  for (const std::string& unit :
       {std::string("a"), std::string(" "), std::string("\xE3\x81\xBE")}) {
    std::string text;
    while (text.size() < (1u << 20)) text += unit;
    const Ids ids = tok().encode(text, false);
    ASSERT_FALSE(ids.empty());
    EXPECT_EQ(tok().decode(ids), text);
  }
}

}  // namespace
}  // namespace aded
