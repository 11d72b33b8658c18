// -c is honoured by `aded bench` (the context the bench runs in; too small for its tests is an
// error that says what it needs) and `aded perplexity` (the window is the context size), not
// silently ignored.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "aded/bench.h"
#include "aded/error.h"
#include "aded/model_tools.h"
#include "support/test_support.h"

namespace aded {
namespace {

using ::testing::HasSubstr;

std::string tiny_model(const aded::testing::TempDir& dir) {
  RandomModelOptions o;
  const std::string path = (dir / "tiny.gguf").string();
  write_random_model(o, path);
  return path;
}

TEST(ContextFlag, BenchRefusesAContextTooSmallForItsTests) {
  aded::testing::TempDir dir;
  const std::string model = tiny_model(dir);
  const std::string fast = " -r 1 -p 32 -n 8 --depth 16 --cost-sizes 4";
  const auto small = aded::testing::run_cli("bench -m '" + model + "' -c 16" + fast);
  EXPECT_EQ(small.exit_code, 1);
  EXPECT_THAT(small.err, HasSubstr("a context of 16 tokens is too small for this bench: it needs 32"));
  const auto enough = aded::testing::run_cli("bench -m '" + model + "' -c 64 -o json" + fast);
  EXPECT_EQ(enough.exit_code, 0) << enough.err;
}

TEST(ContextFlag, PerplexityTakesItsWindowFromC) {
  aded::testing::TempDir dir;
  const std::string model = tiny_model(dir);
  std::string text;
  for (int i = 0; i < 200; ++i) text += "the quick brown fox jumps over the lazy dog. ";
  aded::testing::write_file(dir / "t.txt", text);
  const std::string base = "perplexity -m '" + model + "' -f '" + (dir / "t.txt").string() + "' --max-windows 1";
  const auto c = aded::testing::run_cli(base + " -c 48");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_THAT(c.err, HasSubstr("windows of 48 tokens"));
  EXPECT_THAT(c.out, HasSubstr("(48 tokens"));
  const auto both = aded::testing::run_cli(base + " -c 48 --window 64");
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_THAT(both.err, HasSubstr("-c 48 and --window 64 disagree"));
  EXPECT_EQ(aded::testing::run_cli(base + " -c 48 --window 48").exit_code, 0);
}

}  // namespace
}  // namespace aded
