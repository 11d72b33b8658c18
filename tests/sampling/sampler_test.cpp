// Sampler at the edges of its settings: any temperature > 0 gives a proper distribution (a tiny
// one makes the top token certain, it never overflows into inf or NaN), infinite logits are
// handled, NaN logits are an error that says so, and non-finite settings are refused.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "aded/error.h"
#include "aded/sampler.h"

namespace aded {
namespace {

SamplingParams at(float temperature) {
  SamplingParams p;
  p.temperature = temperature;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  return p;
}

void expect_proper(const std::vector<TokenProb>& d) {
  ASSERT_FALSE(d.empty());
  double sum = 0;
  for (const auto& c : d) {
    EXPECT_TRUE(std::isfinite(c.p) && c.p > 0) << c.id << " " << c.p;
    sum += c.p;
  }
  EXPECT_NEAR(sum, 1.0, 1e-5);
}

TEST(Sampler, AnyPositiveTemperatureGivesADistribution) {
  const std::vector<float> logits = {1.0f, 30.0f, -5.0f, 29.5f, 0.0f};
  std::vector<TokenProb> d;
  for (float t : {1e-38f, std::numeric_limits<float>::denorm_min(), 1e-6f, 0.1f, 1.0f, 10.0f, 1e30f, 3e38f}) {
    Sampler s(at(t));
    s.distribution(logits, {}, d);
    expect_proper(d);
    EXPECT_EQ(d.front().id, 1) << t;
    for (int64_t pos = 0; pos < 20; ++pos) {
      const int32_t tok = s.sample(logits, {}, pos);
      EXPECT_TRUE(tok >= 0 && tok < 5) << t;
      if (t < 1e-5f) {
        EXPECT_EQ(tok, 1) << "a tiny temperature is greedy";
      }
    }
  }
  Sampler tiny(at(1e-38f));
  tiny.distribution(logits, {}, d);
  ASSERT_EQ(d.size(), 1u) << "only tokens that can be drawn";
  EXPECT_EQ(d[0].p, 1.0f);
}

TEST(Sampler, InfiniteLogits) {
  std::vector<TokenProb> d;
  Sampler s(at(0.8f));
  const float inf = std::numeric_limits<float>::infinity();
  s.distribution(std::vector<float>{1.0f, inf, 2.0f, inf}, {}, d);
  expect_proper(d);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_FLOAT_EQ(d[0].p, 0.5f);
  s.distribution(std::vector<float>{-inf, 3.0f, -inf}, {}, d);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].id, 1);
}

TEST(Sampler, NaNLogitsAreAnError) {
  Sampler s(at(0.8f));
  std::vector<TokenProb> d;
  EXPECT_THROW(s.distribution(std::vector<float>{1.0f, NAN, 2.0f}, {}, d), Error);
  // Greedy too: an all-NaN row used to give token 0, a partly NaN one the best of the rest.
  Sampler greedy(at(0.0f));
  EXPECT_THROW(greedy.distribution(std::vector<float>{NAN, NAN, NAN}, {}, d), Error);
  EXPECT_THROW(greedy.sample(std::vector<float>{1.0f, NAN, 2.0f}, {}, 0), Error);
}

TEST(Sampler, NonFiniteSettingsAreRefused) {
  for (float bad : {NAN, INFINITY, -1.0f}) EXPECT_THROW(Sampler(at(bad)), InputError) << bad;
  SamplingParams p = at(0.8f);
  p.top_p = NAN;
  EXPECT_THROW(Sampler{p}, InputError);
  p = at(0.8f);
  p.min_p = NAN;
  EXPECT_THROW(Sampler{p}, InputError);
  p = at(0.8f);
  p.repeat_penalty = INFINITY;
  EXPECT_THROW(Sampler{p}, InputError);
}

}  // namespace
}  // namespace aded
