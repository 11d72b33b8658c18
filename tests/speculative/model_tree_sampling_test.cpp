// A draft model's trees at temperature > 0, end to end: the drafter samples a chain and further
// candidates beside it (draft:model=...:branches=N) from its own q, and the session verifies them
// with the multi-candidate rule. Whatever the drafts, every emitted token must be an exact sample
// of the target's p: over many seeds, the first two verified tokens (the prefill samples the one
// before) follow p given what came before them (chi-square, as verifier_sampling_test does for the
// rules alone). The draft model is another random model of the same vocabulary, so its q differs
// from p and many candidates are rejected: the residual rule is exercised, not only acceptance.
#include <gtest/gtest.h>

#include <map>

#include "aded/decoding.h"
#include "aded/drafter_registry.h"
#include "speculative/chi_square.h"
#include "speculative/exact_distributions.h"
#include "speculative/spec_support.h"

namespace aded {
namespace {

using spec_testing::add_chi_square;
using spec_testing::ChiSquare;
using spec_testing::Exact;
using spec_testing::exact_distributions;
using spec_testing::kAlpha;
using spec_testing::random_prompt;
using spec_testing::tiny_model;

struct Counts {
  std::map<int32_t, std::map<int32_t, int64_t>> x2;                  // by x1
  std::map<std::pair<int32_t, int32_t>, std::map<int32_t, int64_t>> x3;  // by (x1, x2)
};

void run_and_check(float temperature) {
  const auto target = tiny_model(300, 42);
  const auto draft = tiny_model(300, 4242);
  SamplingParams params;
  params.temperature = temperature;
  params.top_k = 4;
  params.top_p = 1.0f;
  params.min_p = 0.0f;
  params.repeat_penalty = 1.0f;
  const auto prompt = random_prompt(12, 300, 99);
  const Exact exact = exact_distributions(target, params, prompt);

  Context ctx(target, {.n_ctx = 64, .n_threads = 1});
  DrafterEnvironment env(target.get(), &ctx);
  const auto registry = DrafterRegistry::with_builtin_methods();
  // Branch everywhere (branch-below=1), three candidates per level, all verified.
  const auto speculator = registry.make_speculator(
      registry.parse("draft:model=" + draft->gguf().path() +
                     ":branches=2:branch-below=1:exit=0:adaptive-exit=off:budget=fixed:max=12:depth=4"),
      env);
  Counts counts;
  int64_t verified = 0, accepted = 0;
  constexpr int kTrials = 6000;
  for (int seed = 0; seed < kTrials; ++seed) {
    params.seed = static_cast<uint64_t>(seed);
    const auto r = spec_testing::generate_with(ctx, params, speculator.get(), prompt, 3);
    ASSERT_EQ(r.tokens.size(), 3u);
    ++counts.x2[r.tokens[0]][r.tokens[1]];
    ++counts.x3[{r.tokens[0], r.tokens[1]}][r.tokens[2]];
    verified += r.stats.nodes_verified;
    accepted += spec_testing::accepted_drafts(r.stats);
  }
  ChiSquare second, third;
  int64_t impossible = 0;
  for (const auto& [x1, c] : counts.x2) {
    int64_t n = 0;
    for (const auto& [t, k] : c) n += k;
    const auto it = exact.p2.find(x1);
    ASSERT_NE(it, exact.p2.end()) << "x1 " << x1 << " is outside the target's support";
    add_chi_square(c, n, it->second, second, impossible);
  }
  for (const auto& [x12, c] : counts.x3) {
    int64_t n = 0;
    for (const auto& [t, k] : c) n += k;
    const auto it = exact.p3.find(x12);
    ASSERT_NE(it, exact.p3.end()) << "x2 " << x12.second << " is outside the target's support";
    add_chi_square(c, n, it->second, third, impossible);
  }
  EXPECT_EQ(impossible, 0) << "tokens outside the target's support";
  // The trees were real: many candidates verified, some accepted, most not.
  EXPECT_GT(verified, int64_t{kTrials} * 4);
  EXPECT_GT(accepted, int64_t{kTrials} / 10);
  EXPECT_LT(accepted, verified / 2);
  EXPECT_GE(second.df, 6);
  EXPECT_GE(third.df, 12);
  EXPECT_GT(second.p_value(), kAlpha) << "x2 | x1: chi2 " << second.chi2 << " df " << second.df;
  EXPECT_GT(third.p_value(), kAlpha) << "x3 | x1 x2: chi2 " << third.chi2 << " df " << third.df;
}

TEST(ModelTreeSampling, ExactAtTemperature08) { run_and_check(0.8f); }
TEST(ModelTreeSampling, ExactAtTemperature10) { run_and_check(1.0f); }

}  // namespace
}  // namespace aded
