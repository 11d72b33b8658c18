// The float loops that run over the trainer's large arrays: the softmax of 4096 x 32000 logits
// (row maximum, then exp(x - shift) with its sum), SwiGLU over the feed-forward activations, and
// the AdamW update of every parameter. Each has a portable version and an AVX2 one (exp by a
// Cephes-style polynomial, within 2 ulp of std::exp); the portable one is what tests compare with.
#pragma once

#include <cstddef>

namespace aded::train {

float row_max(const float* x, int n);
double row_max(const double* x, int n);

// out[i] = exp(x[i] - shift) for i < n (out may equal x); returns the sum of out.
float exp_and_sum(const float* x, float shift, float* out, int n);
double exp_and_sum(const double* x, double shift, double* out, int n);

// h = silu(gate) * up; and its backward: dgate = dh * up * silu'(gate), dup = dh * silu(gate).
void swiglu_forward_f32(const float* gate, const float* up, int n, float* h);
void swiglu_backward_f32(const float* gate, const float* up, const float* dh, int n, float* dgate,
                         float* dup);

// One AdamW update of n parameters (see AdamW::step for the meaning of the constants).
struct AdamWConstants {
  float beta1, beta2, eps;
  float grad_scale;    // gradient multiplier (clipping)
  float step_size;     // lr / (1 - beta1^t)
  float inv_sqrt_bc2;  // 1 / sqrt(1 - beta2^t)
  float keep;          // 1 - lr * weight_decay, or 1 without decay
};
void adamw_update(float* params, const float* grads, float* m, float* v, size_t n,
                  const AdamWConstants& c);

// Portable versions.
float row_max_reference(const float* x, int n);
float exp_and_sum_reference(const float* x, float shift, float* out, int n);
void swiglu_forward_reference(const float* gate, const float* up, int n, float* h);
void swiglu_backward_reference(const float* gate, const float* up, const float* dh, int n,
                               float* dgate, float* dup);
void adamw_update_reference(float* params, const float* grads, float* m, float* v, size_t n,
                            const AdamWConstants& c);

// AVX2 versions (call only when cpu_features().avx2).
float row_max_avx2(const float* x, int n);
float exp_and_sum_avx2(const float* x, float shift, float* out, int n);
void swiglu_forward_avx2(const float* gate, const float* up, int n, float* h);
void swiglu_backward_avx2(const float* gate, const float* up, const float* dh, int n, float* dgate,
                          float* dup);
void adamw_update_avx2(float* params, const float* grads, float* m, float* v, size_t n,
                       const AdamWConstants& c);

}  // namespace aded::train
