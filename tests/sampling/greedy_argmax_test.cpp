// Greedy sampling picks the first index of the largest logit, whatever the length of the vector,
// the position of the maximum relative to the vectorized lanes, ties, infinities and NaNs.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "aded/error.h"
#include "aded/sampler.h"
#include "core/argmax.h"

namespace aded {
namespace {

int32_t first_max(const std::vector<float>& v) {
  int32_t best = -1;
  for (size_t i = 0; i < v.size(); ++i)
    if (!std::isnan(v[i]) && v[i] != -INFINITY && (best < 0 || v[i] > v[static_cast<size_t>(best)]))
      best = static_cast<int32_t>(i);
  return best < 0 ? 0 : best;
}

int32_t greedy(const std::vector<float>& v) {
  SamplingParams params;
  params.temperature = 0;
  return Sampler(params).sample(v, {}, 0);
}

TEST(GreedyArgmax, MatchesTheFirstMaximumOnRandomVectors) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> coarse(-4, 4);  // few distinct values: many ties
  std::normal_distribution<float> fine(0.0f, 3.0f);
  for (size_t n : {1u, 2u, 15u, 16u, 17u, 31u, 32u, 33u, 100u, 512u, 32000u, 32001u}) {
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<float> v(n);
      for (auto& x : v) x = trial % 2 ? static_cast<float>(coarse(rng)) : fine(rng);
      ASSERT_EQ(greedy(v), first_max(v)) << "n=" << n << " trial=" << trial;
    }
  }
}

TEST(GreedyArgmax, MaximumInEveryLaneAndInTheTail) {
  for (size_t n : {16u, 40u, 47u}) {
    for (size_t at = 0; at < n; ++at) {
      std::vector<float> v(n, -1.0f);
      v[at] = 2.0f;
      ASSERT_EQ(greedy(v), static_cast<int32_t>(at)) << "n=" << n;
      // A tie later in the vector does not move the answer.
      if (at + 1 < n) {
        v[n - 1] = 2.0f;
        ASSERT_EQ(greedy(v), static_cast<int32_t>(at)) << "n=" << n;
      }
    }
  }
}

TEST(GreedyArgmax, InfinitiesAndNaNs) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> v(50, -INFINITY);
  EXPECT_EQ(greedy(v), 0);  // nothing beats -inf
  v[33] = 1.0f;
  v[45] = INFINITY;
  EXPECT_EQ(greedy(v), 45);
  // The argmax itself never lets NaN win (the greedy head relies on it) ...
  v[3] = nan;
  v[20] = nan;
  EXPECT_EQ(argmax(v), 45);
  v[45] = 2.0f;
  EXPECT_EQ(argmax(v), 45);
  EXPECT_EQ(argmax(std::vector<float>(20, nan)), 0);
  // ... but greedy sampling refuses NaN logits: they come from broken weights.
  EXPECT_THROW(greedy(v), Error);
  EXPECT_THROW(greedy(std::vector<float>(20, nan)), Error);
}

}  // namespace
}  // namespace aded
