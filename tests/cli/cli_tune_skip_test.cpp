// aded tune-skip end to end on a tiny random model: it measures skip sets, writes the best one in
// a file that --spec self:skip=@FILE reads back, and refuses what it cannot do before measuring.
#include <gtest/gtest.h>

#include <string>

#include "aded/model_tools.h"
#include "cli/cli_checks.h"
#include "support/test_support.h"

namespace aded {
namespace {

using testing::CommandResult;
using testing::fails_cleanly;
using testing::quoted;
using testing::run_cli;

TEST(CliTuneSkip, WritesASkipFileThatRunReads) {
  testing::TempDir dir;
  RandomModelOptions o;
  o.shape = *named_model_shape("tiny");
  write_random_model(o, (dir / "tiny.gguf").string());
  testing::write_file(dir / "p.jsonl", "{\"prompt\": \"Once upon\"}\n{\"prompt\": \"a time\"}\n");
  const std::string model = quoted(dir / "tiny.gguf"), prompts = quoted(dir / "p.jsonl");
  const std::string base = "tune-skip -m " + model + " --prompts " + prompts + " -n 6 -t 1 ";
  const CommandResult r =
      run_cli(base + "--initial 1 --iterations 2 -o " + quoted(dir / "best.skip"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("plain tokens/s"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("4 skip sets"), std::string::npos)
      << r.out;  // every-other, 1 random, 2 guided
  const std::string saved = testing::read_file(dir / "best.skip");
  EXPECT_NE(saved.find("# aded skip set"), std::string::npos) << saved;
  const CommandResult again = run_cli(
      "run -m " + model + " -p hi -n 4 --temp 0 --spec self:skip=@" + quoted(dir / "best.skip"));
  EXPECT_EQ(again.exit_code, 0) << again.err;

  EXPECT_TRUE(fails_cleanly(run_cli(base + "--base pld"), {"--base", "pld"}));
  EXPECT_TRUE(fails_cleanly(run_cli(base + "-o " + quoted(dir / "no/such/dir/x.skip")),
                            {"-o", "does not exist"}));
  EXPECT_TRUE(fails_cleanly(run_cli(base + "--plot " + quoted(dir / "x.txt")), {"x.txt"}));
  EXPECT_TRUE(fails_cleanly(
      run_cli("run -m " + model + " -p hi -n 2 --spec self:skip=@" + quoted(dir / "p.jsonl")),
      {"p.jsonl"}));
}

}  // namespace
}  // namespace aded
