// A prompt with a NUL byte: the tokenizers keep what follows it, and `aded run` echoes all of it
// (the echo used fputs and stopped at the NUL).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gguf/tiny_model.h"
#include "support/test_support.h"

namespace aded {
namespace {

using ::testing::HasSubstr;

TEST(NulPrompt, TheTokenizerKeepsWhatFollows) {
  const auto model = aded::testing::TinyModel{}.load();
  const Tokenizer& tok = model->tokenizer();
  const std::string text("a\0b c", 5);
  const auto ids = tok.encode(text, false);
  // The tiny vocabulary: <unk> <s> </s> ▁a b c; NUL and the space have no piece (<unk>).
  const std::vector<int32_t> expected = {3, 0, 4, 0, 5};
  EXPECT_EQ(ids, expected);
}

TEST(NulPrompt, RunEchoesTheWholePrompt) {
  aded::testing::TempDir dir;
  const auto bytes = aded::testing::TinyModel{}.bytes();
  aded::testing::write_file(dir / "m.gguf", std::string(bytes.begin(), bytes.end()));
  aded::testing::write_file(dir / "prompt.txt", std::string("a\0b c", 5));
  const auto r = aded::testing::run_cli("run -m '" + (dir / "m.gguf").string() + "' -f '" +
                                        (dir / "prompt.txt").string() + "' -n 1 --temp 0");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, 5), std::string("a\0b c", 5));
}

}  // namespace
}  // namespace aded
