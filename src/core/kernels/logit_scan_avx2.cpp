// The logit scans of kernels.h, eight lanes at a time (same results as logit_scan_scalar.cpp:
// the maxima do not depend on the order, and NaN never wins a compare in either).
#include <immintrin.h>

#include <cmath>

#include "core/kernels/exp_avx2.h"
#include "core/kernels/kernels.h"

namespace aded::kernels::detail {

bool scan_logits_avx2(const float* y, int64_t n, float* top, float* magnitude) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256 big = _mm256_set1_ps(1e30f);
  __m256 t8 = _mm256_set1_ps(-INFINITY), m8 = _mm256_setzero_ps(), bad = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 v = _mm256_loadu_ps(y + j), a = _mm256_and_ps(v, abs_mask);
    t8 = _mm256_max_ps(v, t8);  // NaN in v: keeps t8, as "v > t ? v : t" does
    m8 = _mm256_max_ps(a, m8);
    bad = _mm256_or_ps(bad, _mm256_cmp_ps(a, big, _CMP_NLT_UQ));
  }
  float tl[8], ml[8];
  _mm256_storeu_ps(tl, t8);
  _mm256_storeu_ps(ml, m8);
  // The tail by the reference, then the lanes folded in.
  float t, m;
  const bool finite = scan_logits_scalar(y + j, n - j, &t, &m) && _mm256_movemask_ps(bad) == 0;
  for (int l = 0; l < 8; ++l) {
    t = tl[l] > t ? tl[l] : t;
    m = ml[l] > m ? ml[l] : m;
  }
  *top = t;
  *magnitude = m;
  return finite;
}

int64_t keep_at_least_avx2(float* y, int64_t n, float cut, int32_t* keep) {
  const __m256 c = _mm256_set1_ps(cut), minus_inf = _mm256_set1_ps(-INFINITY);
  int64_t kept = 0, j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 v = _mm256_loadu_ps(y + j);
    const __m256 at_least = _mm256_cmp_ps(v, c, _CMP_GE_OQ);
    auto bits = static_cast<unsigned>(_mm256_movemask_ps(at_least));
    _mm256_storeu_ps(y + j, _mm256_blendv_ps(minus_inf, v, at_least));
    for (; bits != 0; bits &= bits - 1) keep[kept++] = static_cast<int32_t>(j + __builtin_ctz(bits));
  }
  // The tail by the reference (its indices count from j).
  const int64_t tail = keep_at_least_scalar(y + j, n - j, cut, keep + kept);
  for (int64_t i = kept; i < kept + tail; ++i) keep[i] += static_cast<int32_t>(j);
  return kept + tail;
}

float sum_exp_at_avx2(const float* y, const int32_t* at, int64_t n, float shift) {
  const __m256 s = _mm256_set1_ps(shift);
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i idx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(at + i));
    acc = _mm256_add_ps(acc, exp8(_mm256_sub_ps(_mm256_i32gather_ps(y, idx, 4), s)));
  }
  float lanes[8];
  _mm256_storeu_ps(lanes, acc);
  // The tail continues lane by lane (term i in lane i % 8, as the reference adds it).
  for (int64_t l = 0; i < n; ++i, ++l) lanes[l] += canonical_exp(y[at[i]] - shift);
  float sum = 0;
  for (float l : lanes) sum += l;
  return sum;
}

}  // namespace aded::kernels::detail
