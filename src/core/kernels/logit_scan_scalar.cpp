// The logit scans of kernels.h (the greedy head's candidate search), one element at a time: the
// reference the vector versions must match exactly (maxima, compares and stores only, so every
// version gives the same values).
#include <cmath>

#include "core/kernels/canonical_exp.h"
#include "core/kernels/kernels.h"

namespace aded::kernels::detail {

bool scan_logits_scalar(const float* y, int64_t n, float* top, float* magnitude) {
  float t = -INFINITY, m = 0;
  bool finite = true;
  for (int64_t j = 0; j < n; ++j) {
    const float v = y[j], a = std::fabs(v);
    t = v > t ? v : t;
    m = a > m ? a : m;
    finite = finite && a < 1e30f;
  }
  *top = t;
  *magnitude = m;
  return finite;
}

int64_t keep_at_least_scalar(float* y, int64_t n, float cut, int32_t* keep) {
  int64_t kept = 0;
  for (int64_t j = 0; j < n; ++j) {
    if (y[j] >= cut)
      keep[kept++] = static_cast<int32_t>(j);
    else
      y[j] = -INFINITY;
  }
  return kept;
}

float sum_exp_at_scalar(const float* y, const int32_t* at, int64_t n, float shift) {
  float lanes[8] = {};
  for (int64_t i = 0; i < n; ++i) lanes[i % 8] += canonical_exp(y[at[i]] - shift);
  float sum = 0;
  for (float l : lanes) sum += l;
  return sum;
}

}  // namespace aded::kernels::detail
