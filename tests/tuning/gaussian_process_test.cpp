#include "tuning/gaussian_process.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "aded/error.h"

namespace aded::tuning {
namespace {

std::vector<uint8_t> bits(int value, int n) {
  std::vector<uint8_t> b(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) b[static_cast<size_t>(i)] = (value >> i) & 1;
  return b;
}

// A smooth function of the bits: the number set among the first four, minus the rest.
double smooth(const std::vector<uint8_t>& b) {
  double v = 0;
  for (size_t i = 0; i < b.size(); ++i) v += b[i] ? (i < 4 ? 1.0 : -0.5) : 0;
  return v;
}

TEST(GaussianProcess, InterpolatesWhatItSawAndIsUnsureFarAway) {
  std::vector<std::vector<uint8_t>> x;
  std::vector<double> y;
  for (int v : {0, 1, 3, 7, 15, 31, 5, 9}) {
    x.push_back(bits(v, 8));
    y.push_back(smooth(x.back()));
  }
  GaussianProcess gp;
  gp.fit(x, y);
  for (size_t i = 0; i < x.size(); ++i) {
    const Prediction p = gp.predict(x[i]);
    EXPECT_NEAR(p.mean, y[i], 0.35) << i;
  }
  const Prediction seen = gp.predict(x[3]);
  const Prediction unseen = gp.predict(bits(0xF0, 8));  // four bits from anything observed near it
  EXPECT_GT(unseen.stddev, 2 * seen.stddev);
}

TEST(GaussianProcess, PredictsUnseenPointsOfASmoothFunction) {
  std::mt19937 rng(7);
  std::vector<std::vector<uint8_t>> x;
  std::vector<double> y;
  for (int i = 0; i < 40; ++i) {
    x.push_back(bits(static_cast<int>(rng() % 256), 8));
    y.push_back(smooth(x.back()));
  }
  GaussianProcess gp;
  gp.fit(x, y);
  double error = 0, spread = 0;
  int n = 0;
  for (int v = 0; v < 256; v += 5, ++n) {
    const double truth = smooth(bits(v, 8));
    error += std::fabs(gp.predict(bits(v, 8)).mean - truth);
    spread += std::fabs(truth - 1.0);
  }
  EXPECT_LT(error / n, 0.4 * spread / n);  // far better than a constant guess
}

TEST(GaussianProcess, NoisyRepeatsAreAveraged) {
  std::vector<std::vector<uint8_t>> x;
  std::vector<double> y;
  for (int r = 0; r < 6; ++r) {
    x.push_back(bits(1, 4));
    y.push_back(10 + (r % 2 ? 1.0 : -1.0));
    x.push_back(bits(14, 4));
    y.push_back(0 + (r % 2 ? 1.0 : -1.0));
  }
  GaussianProcess gp;
  gp.fit(x, y);
  EXPECT_NEAR(gp.predict(bits(1, 4)).mean, 10, 0.5);
  EXPECT_NEAR(gp.predict(bits(14, 4)).mean, 0, 0.5);
  EXPECT_GT(gp.noise(), 1e-3);  // the repeats disagree: the fit chose a noise above the smallest
}

TEST(GaussianProcess, RefusesMismatchedInputs) {
  GaussianProcess gp;
  EXPECT_THROW(gp.fit({}, {}), Error);
  EXPECT_THROW(gp.fit({bits(1, 4), bits(1, 5)}, {1, 2}), Error);
  EXPECT_THROW(gp.fit({bits(1, 4)}, {1, 2}), Error);
}

}  // namespace
}  // namespace aded::tuning
