// aded tokenize: the ids of llama.cpp's tokenizer test files (their expected output, BOS added only
// where the model adds it and not with --no-bos), the pieces for people, and clean refusals.
#include <gtest/gtest.h>

#include <string>

#include "cli/cli_checks.h"
#include "support/test_support.h"

namespace aded {
namespace {

using testing::CommandResult;
using testing::fails_cleanly;
using testing::quoted;
using testing::run_cli;

TEST(CliTokenize, PrintsTheIdsOfTheReferenceTokenizers) {
  ADED_REQUIRE_SHARED_DATA();
  const auto dir = testing::shared_data() / "tokenizers" / "llamacpp-vocab-tests";
  const std::string gpt2 = quoted(dir / "ggml-vocab-gpt-2.gguf");
  const std::string spm = quoted(dir / "ggml-vocab-llama-spm.gguf");
  // Expected ids as in the .out files (GPT-2 adds no BOS; Llama's SentencePiece adds 1).
  CommandResult r = run_cli("tokenize -m " + gpt2 + " -p 'Hello world'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "15496 995\n");
  r = run_cli("tokenize -m " + spm + " -p 'Hello world'");
  EXPECT_EQ(r.out, "1 15043 3186\n");
  r = run_cli("tokenize -m " + spm + " -p 'Hello world' --no-bos");
  EXPECT_EQ(r.out, "15043 3186\n");
  // A file's bytes as they are (its final newline is text too).
  testing::TempDir tmp;
  testing::write_file(tmp / "t.txt", "Hello world");
  r = run_cli("tokenize -m " + gpt2 + " -f " + quoted(tmp / "t.txt"));
  EXPECT_EQ(r.out, "15496 995\n");
  r = run_cli("tokenize -m " + quoted(dir / "ggml-vocab-mpt.gguf") + " -p '    Hello' --show-pieces");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("50274 '    '"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("12092 'Hello'"), std::string::npos) << r.out;

  EXPECT_TRUE(fails_cleanly(run_cli("tokenize -m " + gpt2), {"-p TEXT or -f FILE"}));
  EXPECT_TRUE(fails_cleanly(run_cli("tokenize -m " + gpt2 + " -f " + quoted(tmp / "absent.txt")),
                            {"absent.txt"}));
  EXPECT_TRUE(fails_cleanly(run_cli("tokenize -m " + gpt2 + " -p a -f " + quoted(tmp / "t.txt")),
                            {"--file"}));
  EXPECT_TRUE(fails_cleanly(run_cli("tokenize -m " + quoted(tmp / "t.txt") + " -p a"), {"t.txt"}));
}

}  // namespace
}  // namespace aded
