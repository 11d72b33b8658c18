// The logit scans of kernels.h, sixteen lanes at a time (same results as logit_scan_scalar.cpp:
// the maxima do not depend on the order, and NaN never wins a compare in either).
#include <immintrin.h>

#include <cmath>

#include "core/kernels/kernels.h"

namespace aded::kernels::detail {

bool scan_logits_avx512(const float* y, int64_t n, float* top, float* magnitude) {
  const __m512 big = _mm512_set1_ps(1e30f);
  __m512 t16 = _mm512_set1_ps(-INFINITY), m16 = _mm512_setzero_ps();
  __mmask16 bad = 0;
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m512 v = _mm512_loadu_ps(y + j), a = _mm512_abs_ps(v);
    t16 = _mm512_max_ps(v, t16);  // NaN in v: keeps t16, as "v > t ? v : t" does
    m16 = _mm512_max_ps(a, m16);
    bad = static_cast<__mmask16>(bad | _mm512_cmp_ps_mask(a, big, _CMP_NLT_UQ));
  }
  alignas(64) float tl[16], ml[16];
  _mm512_store_ps(tl, t16);
  _mm512_store_ps(ml, m16);
  // The tail by the reference, then the lanes folded in.
  float t, m;
  const bool finite = scan_logits_scalar(y + j, n - j, &t, &m) && bad == 0;
  for (int l = 0; l < 16; ++l) {
    t = tl[l] > t ? tl[l] : t;
    m = ml[l] > m ? ml[l] : m;
  }
  *top = t;
  *magnitude = m;
  return finite;
}

int64_t keep_at_least_avx512(float* y, int64_t n, float cut, int32_t* keep) {
  const __m512 c = _mm512_set1_ps(cut), minus_inf = _mm512_set1_ps(-INFINITY);
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  int64_t kept = 0, j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m512 v = _mm512_loadu_ps(y + j);
    const __mmask16 at_least = _mm512_cmp_ps_mask(v, c, _CMP_GE_OQ);
    _mm512_storeu_ps(y + j, _mm512_mask_mov_ps(minus_inf, at_least, v));
    if (at_least != 0) {
      const __m512i index = _mm512_add_epi32(lane, _mm512_set1_epi32(static_cast<int>(j)));
      _mm512_mask_compressstoreu_epi32(keep + kept, at_least, index);
      kept += __builtin_popcount(at_least);
    }
  }
  // The tail by the reference (its indices count from j).
  const int64_t tail = keep_at_least_scalar(y + j, n - j, cut, keep + kept);
  for (int64_t i = kept; i < kept + tail; ++i) keep[i] += static_cast<int32_t>(j);
  return kept + tail;
}

}  // namespace aded::kernels::detail
