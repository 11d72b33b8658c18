// The ADED context model: continuations of the longest suffix seen earlier in the text, most
// frequent first (ties: most recent), with hit rates learned from its own predictions.
#include <gtest/gtest.h>

#include <random>

#include "aded/error.h"
#include "speculative/context_model.h"

namespace aded {
namespace {

TEST(ContextModel, ContinuesTheLongestMatchingSuffix) {
  ContextModel m(8);
  // "1 2 3 4" then "9 2 3 5": after "2 3" both 4 and 5 were seen; after "1 2 3" only 4.
  const std::vector<int32_t> text = {1, 2, 3, 4, 9, 2, 3, 5, 7};
  m.extend(text);
  const std::vector<int32_t> h1 = {1, 2, 3};
  const auto p1 = m.predict(h1);
  EXPECT_EQ(p1.order, 3);
  ASSERT_EQ(p1.size, 1);
  EXPECT_EQ(p1.tokens[0], 4);
  const std::vector<int32_t> h2 = {8, 2, 3};
  const auto p2 = m.predict(h2);
  EXPECT_EQ(p2.order, 2);
  ASSERT_EQ(p2.size, 2);
  EXPECT_EQ(p2.tokens[0], 5) << "a tie goes to the most recent occurrence";
  EXPECT_EQ(p2.tokens[1], 4);
  EXPECT_FLOAT_EQ(p2.p[0], p2.p[1]);
  const std::vector<int32_t> unseen = {42};
  EXPECT_EQ(m.predict(unseen).order, 0);
  EXPECT_EQ(m.predict(unseen).size, 0);
  // The last token has no continuation yet: "7" alone matches nothing.
  const std::vector<int32_t> h3 = {5, 7};
  EXPECT_EQ(m.predict(h3).order, 0);
}

TEST(ContextModel, MostFrequentContinuationFirstAndMassBounded) {
  ContextModel m(2);
  std::vector<int32_t> text;
  for (int i = 0; i < 5; ++i) text.insert(text.end(), {1, 2});
  text.insert(text.end(), {1, 3});
  m.extend(text);
  const std::vector<int32_t> h = {1};
  const auto p = m.predict(h);
  ASSERT_EQ(p.size, 2);
  EXPECT_EQ(p.tokens[0], 2);
  EXPECT_EQ(p.tokens[1], 3);
  EXPECT_GT(p.p[0], p.p[1]);
  EXPECT_LE(p.p[0] + p.p[1], 0.98f + 1e-6f);
}

TEST(ContextModel, HitRatesFollowWhatTheTextDoes) {
  // A text that repeats exactly: the first choice keeps being right.
  ContextModel repeat(4);
  std::vector<int32_t> loop;
  for (int i = 0; i < 60; ++i) loop.insert(loop.end(), {10, 11, 12, 13, 14});
  repeat.extend(loop);
  EXPECT_GT(repeat.hit_rate(4), 0.95f);
  // Random tokens over a small alphabet: short matches are mostly wrong.
  ContextModel noise(4);
  std::mt19937 rng(3);
  std::vector<int32_t> random;
  for (int i = 0; i < 3000; ++i) random.push_back(static_cast<int32_t>(rng() % 20));
  noise.extend(random);
  EXPECT_LT(noise.hit_rate(1), 0.2f);
  // Unseen orders have the uninformed prior.
  EXPECT_FLOAT_EQ(ContextModel(8).hit_rate(3), 0.5f);
}

TEST(ContextModel, ResetForgetsTheTextButKeepsTheCalibration) {
  ContextModel m(4);
  std::vector<int32_t> loop;
  for (int i = 0; i < 40; ++i) loop.insert(loop.end(), {10, 11, 12});
  m.extend(loop);
  const float rate = m.hit_rate(4);
  m.reset();
  const std::vector<int32_t> h = {10, 11};
  EXPECT_EQ(m.predict(h).order, 0);
  EXPECT_FLOAT_EQ(m.hit_rate(4), rate);
  // A text that is not a continuation of the indexed one starts over by itself.
  m.extend(loop);
  const std::vector<int32_t> other = {5, 6, 7, 5, 6};
  m.extend(other);
  const std::vector<int32_t> h2 = {5, 6};
  EXPECT_EQ(m.predict(h2).tokens[0], 7);
  EXPECT_EQ(m.predict(h).order, 0);
}

TEST(ContextModel, BadOrderIsAnInputError) {
  EXPECT_THROW(ContextModel(0), InputError);
  EXPECT_THROW(ContextModel(9), InputError);
}

}  // namespace
}  // namespace aded
