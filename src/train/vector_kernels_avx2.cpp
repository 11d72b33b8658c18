// Compiled with AVX2 + FMA (the *_avx2.cpp rule in src/CMakeLists.txt).
#include <immintrin.h>

#include <cmath>

#include "train/vector_kernels.h"

namespace aded::train {

namespace {

// exp(x) for x in [-87.3, 88.7]: x = n ln2 + r with |r| <= ln2/2, exp(r) by Cephes' degree-5
// polynomial, 2^n by building the exponent bits. Inputs below the range give 0.
__m256 exp8(__m256 x) {
  const __m256 lo = _mm256_set1_ps(-87.33654f), hi = _mm256_set1_ps(88.72283f);
  const __m256 below = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
  x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i bits =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  const __m256 result = _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
  return _mm256_andnot_ps(below, result);
}

float horizontal_sum(__m256 v) {
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, v);
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) +
         ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

// 1 / (1 + exp(-g)); exp8 saturates, so large |g| gives 0 or 1 without NaN.
__m256 sigmoid8(__m256 g) {
  const __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), g))));
}

}  // namespace

float row_max_avx2(const float* x, int n) {
  int i = 0;
  float m = x[0];
  if (n >= 8) {
    __m256 vm = _mm256_loadu_ps(x);
    for (i = 8; i + 8 <= n; i += 8) vm = _mm256_max_ps(vm, _mm256_loadu_ps(x + i));
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, vm);
    for (float v : lanes) m = v > m ? v : m;
  }
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

float exp_and_sum_avx2(const float* x, float shift, float* out, int n) {
  const __m256 vshift = _mm256_set1_ps(shift);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 e0 = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vshift));
    const __m256 e1 = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vshift));
    _mm256_storeu_ps(out + i, e0);
    _mm256_storeu_ps(out + i + 8, e1);
    acc0 = _mm256_add_ps(acc0, e0);
    acc1 = _mm256_add_ps(acc1, e1);
  }
  if (i + 8 <= n) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vshift));
    _mm256_storeu_ps(out + i, e);
    acc0 = _mm256_add_ps(acc0, e);
    i += 8;
  }
  float sum = horizontal_sum(_mm256_add_ps(acc0, acc1));
  if (i < n) {
    // The last few through a padded vector, so every element gets the same polynomial.
    alignas(32) float in_tail[8], out_tail[8];
    for (int j = 0; j < 8; ++j) in_tail[j] = i + j < n ? x[i + j] - shift : -INFINITY;
    _mm256_store_ps(out_tail, exp8(_mm256_load_ps(in_tail)));
    for (int j = 0; i + j < n; ++j) {
      out[i + j] = out_tail[j];
      sum += out_tail[j];
    }
  }
  return sum;
}

void swiglu_forward_avx2(const float* gate, const float* up, int n, float* h) {
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    _mm256_storeu_ps(h + i, _mm256_mul_ps(_mm256_mul_ps(g, sigmoid8(g)), _mm256_loadu_ps(up + i)));
  }
  if (i < n) swiglu_forward_reference(gate + i, up + i, n - i, h + i);
}

void swiglu_backward_avx2(const float* gate, const float* up, const float* dh, int n, float* dgate,
                          float* dup) {
  const __m256 one = _mm256_set1_ps(1.0f);
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i), d = _mm256_loadu_ps(dh + i);
    const __m256 sig = sigmoid8(g);
    const __m256 slope =
        _mm256_mul_ps(sig, _mm256_add_ps(one, _mm256_mul_ps(g, _mm256_sub_ps(one, sig))));
    _mm256_storeu_ps(dgate + i, _mm256_mul_ps(_mm256_mul_ps(d, _mm256_loadu_ps(up + i)), slope));
    _mm256_storeu_ps(dup + i, _mm256_mul_ps(d, _mm256_mul_ps(g, sig)));
  }
  if (i < n) swiglu_backward_reference(gate + i, up + i, dh + i, n - i, dgate + i, dup + i);
}

void adamw_update_avx2(float* p, const float* g, float* m, float* v, size_t n,
                       const AdamWConstants& c) {
  const __m256 b1 = _mm256_set1_ps(c.beta1), b2 = _mm256_set1_ps(c.beta2),
               one_b1 = _mm256_set1_ps(1.0f - c.beta1), one_b2 = _mm256_set1_ps(1.0f - c.beta2),
               eps = _mm256_set1_ps(c.eps), scale = _mm256_set1_ps(c.grad_scale),
               step = _mm256_set1_ps(c.step_size), inv_bc2 = _mm256_set1_ps(c.inv_sqrt_bc2),
               keep = _mm256_set1_ps(c.keep);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 gi = _mm256_mul_ps(_mm256_loadu_ps(g + i), scale);
    const __m256 mi =
        _mm256_add_ps(_mm256_mul_ps(b1, _mm256_loadu_ps(m + i)), _mm256_mul_ps(one_b1, gi));
    const __m256 vi = _mm256_add_ps(_mm256_mul_ps(b2, _mm256_loadu_ps(v + i)),
                                    _mm256_mul_ps(one_b2, _mm256_mul_ps(gi, gi)));
    const __m256 denom = _mm256_add_ps(_mm256_mul_ps(_mm256_sqrt_ps(vi), inv_bc2), eps);
    const __m256 pi = _mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(p + i), keep),
                                    _mm256_mul_ps(step, _mm256_div_ps(mi, denom)));
    _mm256_storeu_ps(m + i, mi);
    _mm256_storeu_ps(v + i, vi);
    _mm256_storeu_ps(p + i, pi);
  }
  if (i < n) adamw_update_reference(p + i, g + i, m + i, v + i, n - i, c);
}

}  // namespace aded::train
