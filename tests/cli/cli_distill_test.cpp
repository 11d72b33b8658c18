// distill-data, train --distill and eval-drafter from the command line, on the demo model (a few
// tokens each: seconds): a resumable set, a drafter that is the target itself (alpha 1), and the
// clean failures.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/cli_checks.h"
#include "distillation/distill_set.h"

namespace aded::testing {
namespace {

std::filesystem::path demo_model() {
  return test_data() / ".." / ".." / "models" / "demo-python.gguf";
}

class DistillCli : public ::testing::Test {
 protected:
  void SetUp() override {
    write_file(dir_ / "a.txt", "def add(a, b):\n");
    write_file(dir_ / "b.jsonl",
               "{\"task_id\": \"t/0\", \"prompt\": \"import os\\n\"}\n"
               "{\"task_id\": \"t/1\", \"prompt\": \"class Point:\\n\"}\n");
    base_ = "distill-data -m " + quoted(demo_model()) + " --prompts " + quoted(dir_ / "a.txt") +
            " " + quoted(dir_ / "b.jsonl") + " -o " + quoted(dir_ / "s.set") + " -n 6 -t 2";
  }
  TempDir dir_;
  std::string base_;
};

TEST_F(DistillCli, MakesAResumableSet) {
  CommandResult r = run_cli(base_ + " --samples-per-prompt 2 --temp 0.8");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto set = distill::read_set((dir_ / "s.set").string());
  EXPECT_EQ(set.records.size(), 6u);
  for (const auto& rec : set.records) EXPECT_GE(rec.response_length(), 1u);
  const std::string bytes = read_file(dir_ / "s.set");
  // Nothing left to do: the same file.
  r = run_cli(base_ + " --samples-per-prompt 2 --temp 0.8");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("0 to make"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(dir_ / "s.set"), bytes);
  // Other settings: refused, the set untouched.
  r = run_cli(base_ + " --samples-per-prompt 2 --temp 0");
  EXPECT_TRUE(fails_cleanly(r, {"--temp"}));
  EXPECT_EQ(read_file(dir_ / "s.set"), bytes);
}

TEST_F(DistillCli, ASetMadeInTwoRunsEqualsOneMadeInOne) {
  ASSERT_EQ(run_cli(base_ + " --samples-per-prompt 1 --temp 0.8").exit_code, 0);
  // A third prompt file later: only its item is new.
  write_file(dir_ / "c.txt", "for i in range(");
  const std::string more = base_ + " --prompts " + quoted(dir_ / "c.txt") + " --temp 0.8";
  CommandResult r = run_cli(more);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("1 to make"), std::string::npos) << r.err;
  const auto two_runs = distill::read_set((dir_ / "s.set").string());
  std::filesystem::remove(dir_ / "s.set");
  ASSERT_EQ(run_cli(more).exit_code, 0);
  const auto one_run = distill::read_set((dir_ / "s.set").string());
  ASSERT_EQ(two_runs.records.size(), 4u);
  ASSERT_EQ(one_run.records.size(), 4u);
  for (const auto& a : two_runs.records) {
    bool found = false;
    for (const auto& b : one_run.records)
      found = found ||
              (a.prompt_key == b.prompt_key && a.tokens == b.tokens && a.top_probs == b.top_probs);
    EXPECT_TRUE(found);
  }
}

TEST_F(DistillCli, TrainsAndEvaluatesADrafter) {
  ASSERT_EQ(run_cli(base_ + " --temp 0").exit_code, 0);
  CommandResult r =
      run_cli("train --distill " + quoted(dir_ / "s.set") + " --init " + quoted(demo_model()) +
              " --target " + quoted(demo_model()) +
              " --loss tvdpp --steps 2 --batch 2 --ctx 32 -t 2 -o " + quoted(dir_ / "d.gguf"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("accept"), std::string::npos) << r.err;
  r = run_cli("eval-drafter -m " + quoted(demo_model()) + " -md " + quoted(dir_ / "d.gguf") +
              " --prompts " + quoted(dir_ / "a.txt") + " -n 6 -t 2 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_GT(j["alpha"].get<double>(), 0.0);
  EXPECT_EQ(j["tau"].size(), 8u);
  EXPECT_GT(j["spec_tokens_per_second"].get<double>(), 0.0);
}

TEST_F(DistillCli, TheTargetAsItsOwnDrafterIsAlwaysAccepted) {
  CommandResult r = run_cli("eval-drafter -m " + quoted(demo_model()) + " -md " +
                            quoted(demo_model()) + " --prompts " + quoted(dir_ / "a.txt") + " " +
                            quoted(dir_ / "b.jsonl") + " -n 6 -t 2 --temp 0.8 --no-speed --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_NEAR(j["alpha"].get<double>(), 1.0, 1e-9);
  EXPECT_NEAR(j["tau_iid"][3].get<double>(), 5.0, 1e-9);
  EXPECT_NEAR(j["c"].get<double>(), 1.0, 1e-12);
}

TEST_F(DistillCli, ErrorsAreClean) {
  EXPECT_TRUE(fails_cleanly(run_cli("train --distill " + quoted(dir_ / "none.set") + " -o " +
                                    quoted(dir_ / "x.gguf") + " --steps 1"),
                            {"--init"}));
  EXPECT_TRUE(fails_cleanly(
      run_cli("train --distill " + quoted(dir_ / "none.set") + " --init " + quoted(demo_model()) +
              " -o " + quoted(dir_ / "x.gguf") + " --steps 1 --loss kl"),
      {"--loss kl"}));
  EXPECT_TRUE(fails_cleanly(
      run_cli("train --distill " + quoted(dir_ / "none.set") + " --init " + quoted(demo_model()) +
              " -o " + quoted(dir_ / "x.gguf") + " --steps 1 --distill-p recomputed"),
      {"--distill-p recomputed"}));
  write_file(dir_ / "junk.set", "not a set");
  EXPECT_TRUE(
      fails_cleanly(run_cli("train --distill " + quoted(dir_ / "junk.set") + " --init " +
                            quoted(demo_model()) + " -o " + quoted(dir_ / "x.gguf") + " --steps 1"),
                    {"junk.set"}));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "x.gguf"));
  EXPECT_TRUE(fails_cleanly(run_cli(base_ + " --top-k-probs 0"), {"--top-k-probs"}));
  EXPECT_TRUE(fails_cleanly(run_cli("distill-data -m " + quoted(demo_model()) + " --prompts " +
                                    quoted(dir_ / "missing.txt") + " -o " + quoted(dir_ / "s.set")),
                            {"missing.txt"}));
  // The output must not be an input.
  EXPECT_TRUE(fails_cleanly(run_cli("distill-data -m " + quoted(demo_model()) + " --prompts " +
                                    quoted(dir_ / "a.txt") + " -o " + quoted(dir_ / "a.txt")),
                            {"a.txt"}));
  EXPECT_EQ(read_file(dir_ / "a.txt"), "def add(a, b):\n");
}

}  // namespace
}  // namespace aded::testing
