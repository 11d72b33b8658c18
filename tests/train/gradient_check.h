// Helpers of the gradient tests: random inputs and an analytic gradient checked against central
// finite differences in double precision. Tolerance |analytic - numeric| <= 1e-7 + 1e-6 |numeric|
// with step h = 1e-5 (a central difference errs by O(h^2) plus rounding of order 1e-16 / h).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <vector>

namespace aded::train::gradient_check {

using Vec = std::vector<double>;

inline Vec random_vec(size_t n, uint32_t seed, double scale = 1.0) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> dist(0.0, scale);
  Vec v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// Checks analytic[i] against the central difference of loss() in x[i], for every i.
inline void expect_gradient(Vec& x, const Vec& analytic, const std::function<double()>& loss,
                            const char* what) {
  ASSERT_EQ(x.size(), analytic.size()) << what;
  const double h = 1e-5;
  for (size_t i = 0; i < x.size(); ++i) {
    const double saved = x[i];
    x[i] = saved + h;
    const double up = loss();
    x[i] = saved - h;
    const double down = loss();
    x[i] = saved;
    const double numeric = (up - down) / (2 * h);
    EXPECT_NEAR(analytic[i], numeric, 1e-7 + 1e-6 * std::fabs(numeric)) << what << " [" << i << "]";
  }
}

}  // namespace aded::train::gradient_check
