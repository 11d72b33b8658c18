#include "core/argmax.h"

#include <cmath>

namespace aded {

// The first index of the largest value (NaN never wins; 0 when nothing beats -inf). Greedy decoding
// calls it once per token over the whole vocabulary, so it runs in independent lanes that the
// compiler turns into vector compares and blends, then merges the lanes.
int32_t argmax(std::span<const float> v) {
  constexpr size_t kLanes = 16;
  float lane_best[kLanes];
  int32_t lane_at[kLanes];
  for (size_t j = 0; j < kLanes; ++j) {
    lane_best[j] = -INFINITY;
    lane_at[j] = -1;
  }
  const size_t n = v.size();
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (size_t j = 0; j < kLanes; ++j) {
      const float x = v[i + j];
      const bool greater = x > lane_best[j];
      lane_best[j] = greater ? x : lane_best[j];
      lane_at[j] = greater ? static_cast<int32_t>(i + j) : lane_at[j];
    }
  }
  float best = -INFINITY;
  int32_t at = -1;
  for (size_t j = 0; j < kLanes; ++j) {
    if (lane_at[j] < 0) continue;
    if (at < 0 || lane_best[j] > best || (lane_best[j] == best && lane_at[j] < at)) {
      best = lane_best[j];
      at = lane_at[j];
    }
  }
  for (; i < n; ++i)
    if (v[i] > best) {
      best = v[i];
      at = static_cast<int32_t>(i);
    }
  return at < 0 ? 0 : at;
}

}  // namespace aded
