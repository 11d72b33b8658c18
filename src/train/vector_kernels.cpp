#include "train/vector_kernels.h"

#include <cmath>

#include "core/cpu_features.h"

namespace aded::train {

namespace {

template <typename T>
T max_of(const T* x, int n) {
  T m = x[0];
  for (int i = 1; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

template <typename T>
T exp_sum_of(const T* x, T shift, T* out, int n) {
  T sum = 0;
  for (int i = 0; i < n; ++i) {
    out[i] = std::exp(x[i] - shift);
    sum += out[i];
  }
  return sum;
}

bool use_avx2() {
  static const bool avx2 = cpu_features().avx2;
  return avx2;
}

}  // namespace

float row_max_reference(const float* x, int n) {
  return max_of(x, n);
}
float exp_and_sum_reference(const float* x, float shift, float* out, int n) {
  return exp_sum_of(x, shift, out, n);
}

void swiglu_forward_reference(const float* gate, const float* up, int n, float* h) {
  for (int i = 0; i < n; ++i) {
    const float g = gate[i];
    h[i] = g * (1.0f / (1.0f + std::exp(-g))) * up[i];
  }
}

void swiglu_backward_reference(const float* gate, const float* up, const float* dh, int n,
                               float* dgate, float* dup) {
  for (int i = 0; i < n; ++i) {
    const float g = gate[i];
    const float sig = 1.0f / (1.0f + std::exp(-g));
    dgate[i] = dh[i] * up[i] * (sig * (1.0f + g * (1.0f - sig)));
    dup[i] = dh[i] * (g * sig);
  }
}

void adamw_update_reference(float* p, const float* g, float* m, float* v, size_t n,
                            const AdamWConstants& c) {
  for (size_t i = 0; i < n; ++i) {
    const float gi = g[i] * c.grad_scale;
    m[i] = c.beta1 * m[i] + (1.0f - c.beta1) * gi;
    v[i] = c.beta2 * v[i] + (1.0f - c.beta2) * (gi * gi);
    const float denom = std::sqrt(v[i]) * c.inv_sqrt_bc2 + c.eps;
    p[i] = p[i] * c.keep - c.step_size * (m[i] / denom);
  }
}

float row_max(const float* x, int n) {
  return use_avx2() ? row_max_avx2(x, n) : max_of(x, n);
}
double row_max(const double* x, int n) {
  return max_of(x, n);
}

float exp_and_sum(const float* x, float shift, float* out, int n) {
  return use_avx2() ? exp_and_sum_avx2(x, shift, out, n) : exp_sum_of(x, shift, out, n);
}
double exp_and_sum(const double* x, double shift, double* out, int n) {
  return exp_sum_of(x, shift, out, n);
}

void swiglu_forward_f32(const float* gate, const float* up, int n, float* h) {
  if (use_avx2())
    swiglu_forward_avx2(gate, up, n, h);
  else
    swiglu_forward_reference(gate, up, n, h);
}

void swiglu_backward_f32(const float* gate, const float* up, const float* dh, int n, float* dgate,
                         float* dup) {
  if (use_avx2())
    swiglu_backward_avx2(gate, up, dh, n, dgate, dup);
  else
    swiglu_backward_reference(gate, up, dh, n, dgate, dup);
}

void adamw_update(float* p, const float* g, float* m, float* v, size_t n, const AdamWConstants& c) {
  if (use_avx2())
    adamw_update_avx2(p, g, m, v, n, c);
  else
    adamw_update_reference(p, g, m, v, n, c);
}

}  // namespace aded::train
