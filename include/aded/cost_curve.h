// The measured cost of an operation as a function of its size: a forward of the target over n
// tokens, or a drafter's proposal of n nodes. Each size keeps an exponential moving average of
// the seconds measured at it; unmeasured sizes are interpolated linearly between the nearest
// measured ones and extrapolated proportionally beyond the largest. Below the smallest measured
// size the curve is flat (a forward of fewer tokens is not cheaper than the smallest timed one,
// which is conservative) or, for a curve whose size 0 means "nothing done", proportional down to
// zero.
#pragma once

#include <vector>

namespace aded {

class CostCurve {
 public:
  enum class BelowSmallest { Flat, ProportionalToZero };
  // Sizes 0..max_size can be recorded; larger ones are estimated.
  explicit CostCurve(int max_size = 64, BelowSmallest below = BelowSmallest::Flat);

  // Seeds or refines the cost at size n; ignores sizes out of range and non-positive times.
  void record(int n, double seconds);
  // Estimated seconds at size n (0 when nothing was measured yet, or n <= 0 for a curve that is
  // proportional to zero).
  double at(int n) const;
  bool measured(int n) const;
  bool empty() const;
  int max_size() const { return static_cast<int>(seconds_.size()) - 1; }

 private:
  BelowSmallest below_;
  std::vector<double> seconds_;  // index n: EMA of seconds, 0 = not measured
};

}  // namespace aded
