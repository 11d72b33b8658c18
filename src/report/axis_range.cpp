#include "report/axis_range.h"

#include <cmath>

namespace aded::report {

namespace {

// The round number nearest to `raw` on a log scale (Heckbert's "nice numbers").
double round_step(double raw) {
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double fraction = raw / magnitude;
  const double m = fraction < 1.5    ? 1
                   : fraction < 2.25 ? 2
                   : fraction < 3.5  ? 2.5
                   : fraction < 7.5  ? 5
                                     : 10;
  return m * magnitude;
}

}  // namespace

AxisRange round_axis_range(double low, double high, int ticks) {
  if (!std::isfinite(low) || !std::isfinite(high) || high <= low) return {};
  const double step = round_step((high - low) / (ticks > 0 ? ticks : 5));
  // The small tolerance keeps 2.0000000001 (a sum of doubles) from adding a whole empty interval.
  return {std::floor(low / step + 1e-9) * step, std::ceil(high / step - 1e-9) * step, step};
}

int tick_decimals(const AxisRange& range) {
  for (int decimals = 0; decimals < 6; ++decimals) {
    const double scaled = range.step * std::pow(10.0, decimals);
    if (std::abs(scaled - std::round(scaled)) < 1e-6 * scaled) return decimals;
  }
  return 6;
}

}  // namespace aded::report
