// The chi-square goodness-of-fit test of the sampling tests: does a sample of tokens follow a
// distribution p? Used by the verifier's rule tests and the drafters' end-to-end sampling tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "aded/sampler.h"

namespace aded::spec_testing {

// Regularized upper incomplete gamma Q(a, x) (series below a + 1, continued fraction above).
inline double gamma_q(double a, double x) {
  if (x <= 0) return 1.0;
  const double log_front = -x + a * std::log(x) - std::lgamma(a);
  if (x < a + 1) {
    double term = 1.0 / a, sum = term;
    for (int n = 1; n < 10000; ++n) {
      term *= x / (a + n);
      sum += term;
      if (std::fabs(term) < std::fabs(sum) * 1e-15) break;
    }
    return 1.0 - sum * std::exp(log_front);
  }
  // Lentz's method for the continued fraction of Q.
  const double tiny = 1e-300;
  double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
  for (int i = 1; i < 10000; ++i) {
    const double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (std::fabs(d) < tiny) d = tiny;
    c = b + an / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1) < 1e-15) break;
  }
  return std::exp(log_front) * h;
}

// P(X >= chi2) for X ~ chi-square(df).
inline double chi_square_p_value(double chi2, int df) { return gamma_q(0.5 * df, 0.5 * chi2); }

// The test rejects "emitted ~ p" when the p-value is below 1e-4. With 5 candidates (df = 4) that
// is chi2 > 23.51; with df = 8, chi2 > 31.83; with df = 20, chi2 > 52.39. Seeds are fixed, so
// each test's outcome is deterministic; the chance that a correct verifier fails one of the
// ~25 chi-square checks in this file for a given seed list is about 0.25%.
constexpr double kAlpha = 1e-4;

struct ChiSquare {
  double chi2 = 0;
  int df = 0;
  double p_value() const { return df > 0 ? chi_square_p_value(chi2, df) : 1.0; }
};

// Adds the chi-square terms of one sample (counts over tokens, n draws) against p. Cells with an
// expected count below 5 are pooled into one cell (kept only when its expectation reaches 5 too;
// otherwise it joins the smallest regular cell). Tokens outside p's support must not occur at
// all: `impossible` counts them.
inline void add_chi_square(const std::map<int32_t, int64_t>& counts, int64_t n, const std::vector<TokenProb>& p, ChiSquare& out,
                    int64_t& impossible) {
  std::map<int32_t, double> expected;
  for (const auto& t : p) expected[t.id] += static_cast<double>(t.p) * static_cast<double>(n);
  for (const auto& [tok, c] : counts)
    if (!expected.count(tok)) impossible += c;
  std::vector<std::pair<double, double>> cells;  // (observed, expected)
  double pooled_o = 0, pooled_e = 0;
  for (const auto& [tok, e] : expected) {
    const auto it = counts.find(tok);
    const double o = it == counts.end() ? 0.0 : static_cast<double>(it->second);
    if (e < 5) {
      pooled_o += o;
      pooled_e += e;
    } else {
      cells.emplace_back(o, e);
    }
  }
  if (pooled_e >= 5 || (cells.empty() && pooled_e > 0)) {
    cells.emplace_back(pooled_o, pooled_e);
  } else if (pooled_e > 0) {
    auto smallest = std::min_element(cells.begin(), cells.end(), [](auto& a, auto& b) { return a.second < b.second; });
    smallest->first += pooled_o;
    smallest->second += pooled_e;
  }
  if (cells.size() < 2) return;
  for (const auto& [o, e] : cells) out.chi2 += (o - e) * (o - e) / e;
  out.df += static_cast<int>(cells.size()) - 1;
}


}  // namespace aded::spec_testing
