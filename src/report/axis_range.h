// Round axis ranges: ticks at 1, 2, 2.5 or 5 times a power of ten, the way a reader counts.
#pragma once

namespace aded::report {

struct AxisRange {
  double low = 0, high = 1, step = 0.2;  // ticks at low, low + step, ..., high
};

// A round range that holds [low, high] in about `ticks` intervals (the step nearest to
// (high - low) / ticks, rounded); a range that is empty or not finite becomes [0, 1].
AxisRange round_axis_range(double low, double high, int ticks = 5);

// Decimals that print every tick of the range alike (0.5 -> 1: "0.0, 0.5, 1.0"; 2.5 -> 1).
int tick_decimals(const AxisRange& range);

}  // namespace aded::report
