#include "aded/skip_search.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>
#include <set>
#include <string>

#include "aded/error.h"
#include "aded/model_drafters.h"

namespace aded {
namespace {

// A synthetic objective shaped like measured speed: each skipped sublayer saves draft time, but
// skipping a sensitive one (the first and last layers, every attention of the second half) costs
// acceptance. Its optimum is known; measurements carry noise.
double synthetic_speed(const SkipSearch& search, const LayerPlan& plan, int layers,
                       std::mt19937& rng, double noise) {
  const auto skipped = search.encode(plan);
  double value = 100;
  for (int l = 0; l < layers; ++l) {
    const bool sensitive_a = l == 0 || l == layers - 1 || l >= layers / 2;
    const bool sensitive_m = l == 0 || l == layers - 1;
    value += skipped[static_cast<size_t>(l)] ? (sensitive_a ? -30 : 8) : 0;
    value += skipped[static_cast<size_t>(layers + l)] ? (sensitive_m ? -30 : 6) : 0;
  }
  return value + std::normal_distribution<double>(0, noise)(rng);
}

double optimum(int layers) {
  double v = 100;
  for (int l = 1; l < layers - 1; ++l) v += (l < layers / 2 ? 8 : 0) + 6;
  return v;
}

TEST(SkipSearch, FindsTheOptimumOfANoisyObjectiveFasterThanRandomSets) {
  const int layers = 6;  // 12 choices, 4096 skip sets
  std::mt19937 rng(3);
  SkipSearchOptions o;
  o.seed = 11;
  SkipSearch search(layers, o);
  for (int i = 0; i < 30; ++i) {
    const LayerPlan plan = search.next();
    search.record(plan, synthetic_speed(search, plan, layers, rng, 2.0));
  }
  const double found = synthetic_speed(search, search.best().plan, layers, rng, 0.0);
  EXPECT_GE(found, optimum(layers) - 8) << format_skip_plan(search.best().plan);

  // 30 random skip sets, for comparison, rarely get as close (same objective, same noise).
  int random_wins = 0;
  for (int trial = 0; trial < 5; ++trial) {
    SkipSearchOptions r = o;
    r.seed = 100 + static_cast<uint64_t>(trial);
    r.initial = 1000;  // never leaves the random phase
    SkipSearch random(layers, r);
    double best = -1e9;
    for (int i = 0; i < 30; ++i) {
      const LayerPlan plan = random.next();
      const double v = synthetic_speed(random, plan, layers, rng, 2.0);
      random.record(plan, v);
    }
    best = synthetic_speed(random, random.best().plan, layers, rng, 0.0);
    random_wins += best >= found;
  }
  EXPECT_LE(random_wins, 2);
}

TEST(SkipSearch, StartsWithEveryOtherLayerThenNeverRepeatsOrPicksNoneOrAll) {
  SkipSearch search(4);
  const LayerPlan first = search.next();
  EXPECT_EQ(format_skip_plan(first), "a1,a3,m1,m3");
  std::set<std::string> seen;
  std::mt19937 rng(1);
  for (int i = 0; i < 40; ++i) {
    const LayerPlan plan = search.next();
    const auto skipped = search.encode(plan);
    const int n = std::accumulate(skipped.begin(), skipped.end(), 0);
    EXPECT_GT(n, 0);
    EXPECT_LT(n, 8);
    EXPECT_TRUE(seen.insert(format_skip_plan(plan)).second)
        << "measured twice: " << format_skip_plan(plan);
    search.record(plan, std::uniform_real_distribution<double>(0, 1)(rng));
  }
}

TEST(SkipSearch, EncodingRoundTrips) {
  SkipSearch search(5);
  const LayerPlan plan = parse_skip_plan("a0,a4,m2", 5);
  EXPECT_EQ(format_skip_plan(search.decode(search.encode(plan))), "a0,a4,m2");
  EXPECT_THROW(search.best(), Error);
  EXPECT_THROW(SkipSearch(0), Error);
}

}  // namespace
}  // namespace aded
