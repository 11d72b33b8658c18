#include "aded/cost_curve.h"

#include <algorithm>

#include "aded/error.h"

namespace aded {

namespace {
constexpr double kSmoothing = 0.2;  // weight of a new measurement: recent costs matter most
}

CostCurve::CostCurve(int max_size, BelowSmallest below) : below_(below) {
  if (max_size < 1) fail("a cost curve needs sizes up to at least 1, not {}", max_size);
  seconds_.assign(static_cast<size_t>(max_size) + 1, 0.0);
}

void CostCurve::record(int n, double seconds) {
  if (n < 1 || n > max_size() || !(seconds > 0)) return;
  double& c = seconds_[static_cast<size_t>(n)];
  // A sample far above the estimate is most often a preempted thread (2 shared cores), not a
  // change of cost: it moves the estimate as a sample of kOutlier times it would, so one stall
  // cannot make a drafter look too costly for the next 64 steps; a real rise still gets through
  // in a few samples.
  constexpr double kOutlier = 3.0;
  if (c > 0) seconds = std::min(seconds, kOutlier * c);
  c = c == 0 ? seconds : (1 - kSmoothing) * c + kSmoothing * seconds;
}

bool CostCurve::measured(int n) const { return n >= 1 && n <= max_size() && seconds_[static_cast<size_t>(n)] > 0; }

bool CostCurve::empty() const {
  return std::none_of(seconds_.begin(), seconds_.end(), [](double s) { return s > 0; });
}

double CostCurve::at(int n) const {
  if (n <= 0 && below_ == BelowSmallest::ProportionalToZero) return 0;
  n = std::max(n, 1);
  if (measured(n)) return seconds_[static_cast<size_t>(n)];
  int lo = std::min(n, max_size());
  while (lo >= 1 && !measured(lo)) --lo;
  int hi = n;
  while (hi <= max_size() && !measured(hi)) ++hi;
  const bool has_lo = lo >= 1, has_hi = hi <= max_size();
  if (!has_lo && !has_hi) return 0;
  if (!has_lo) {
    const double smallest = seconds_[static_cast<size_t>(hi)];
    return below_ == BelowSmallest::Flat ? smallest : smallest * n / hi;
  }
  const double c_lo = seconds_[static_cast<size_t>(lo)];
  if (!has_hi) return c_lo * n / lo;
  const double c_hi = seconds_[static_cast<size_t>(hi)];
  return c_lo + (c_hi - c_lo) * (n - lo) / (hi - lo);
}

}  // namespace aded
