// SentencePiece normalization: the one function, and proof that the tokenizer and the vocabulary
// trainer normalize alike, on every piece of Llama 2's vocabulary.
#include "tokenizer/spm_normalizer.h"

#include <gtest/gtest.h>

#include <string>

#include "aded/gguf.h"
#include "aded/tokenizer.h"
#include "support/test_support.h"
#include "tokenizer/tokenizer_test_helpers.h"
#include "tokenizer/vocab_trainer.h"

namespace aded {
namespace {

using aded::testing::kSpace;

TEST(SpmNormalize, SpacesBecomeTheSpaceSymbolBehindAnOptionalPrefix) {
  EXPECT_EQ(spm_normalize("a b  c", true), kSpace + "a" + kSpace + "b" + kSpace + kSpace + "c");
  EXPECT_EQ(spm_normalize("a b", false), "a" + kSpace + "b");
  EXPECT_EQ(spm_normalize("\tx\n", true), kSpace + "\tx\n");  // only ' ' is a space
  EXPECT_EQ(spm_normalize("", true), kSpace);
  EXPECT_EQ(spm_normalize("", false), "");
}

// The text the encoder segmented: its pieces put together, byte tokens as their bytes.
std::string segmented_text(const Tokenizer& tok, const std::vector<int32_t>& ids) {
  std::string text;
  for (const int32_t id : ids) {
    const auto i = static_cast<size_t>(id);
    text += tok.vocab().kinds[i] == TokenKind::Byte ? tok.token_bytes(id) : tok.vocab().pieces[i];
  }
  return text;
}

// For every piece of a real vocabulary, the text it stands for goes down both paths: the
// tokenizer's (observed through what it encodes) and the trainer's (the words add_text counts).
// Both must give the piece behind the dummy prefix: so they agree with each other, and a piece
// learned from text is spelled as the encoder looks for it.
TEST(SpmNormalize, TokenizerAndVocabTrainerAgreeOnEveryLlama2Piece) {
  ADED_REQUIRE_SHARED_DATA();
  const auto path =
      testing::shared_data() / "tokenizers" / "llama2-spm-32000" / "ggml-vocab-llama-spm.gguf";
  const auto tok = Tokenizer::from_gguf(GgufFile::open(path.string()));
  ASSERT_TRUE(tok->vocab().add_space_prefix);  // as the trainer always normalizes
  size_t checked = 0, mismatches = 0;
  for (int32_t id = 0; id < tok->size(); ++id) {
    const TokenKind kind = tok->vocab().kinds[static_cast<size_t>(id)];
    if (kind != TokenKind::Normal && kind != TokenKind::UserDefined) continue;
    const std::string& piece = tok->vocab().pieces[static_cast<size_t>(id)];
    const std::string text = tok->token_bytes(id);
    const std::string by_tokenizer = segmented_text(*tok, tok->encode(text, false, false));
    std::string by_trainer;
    for (const std::string& word : training_words(text)) by_trainer += word;
    ++checked;
    if (by_tokenizer == kSpace + piece && by_trainer == by_tokenizer) continue;
    if (++mismatches <= 10)
      ADD_FAILURE() << "piece " << id << " \"" << piece << "\": tokenizer \"" << by_tokenizer
                    << "\", trainer \"" << by_trainer << "\"";
  }
  EXPECT_GT(checked, 31000u);
  EXPECT_EQ(mismatches, 0u) << "of " << checked << " pieces";
}

}  // namespace
}  // namespace aded
