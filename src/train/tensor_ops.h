// Forward and backward of the row-wise parts of the Llama block, for one row at a time. The
// forward formulas and their operation order are those of the inference path (src/model/ops.cpp),
// so a trained model gives the same numbers in `aded run`. Backward functions add into their
// gradient outputs (dx +=, dweight +=) unless they say otherwise.
#pragma once

#include <vector>

namespace aded::train {

// y = w * (x / sqrt(mean(x^2) + eps)); returns 1 / sqrt(mean(x^2) + eps) for the backward.
template <typename T>
T rms_norm_forward(const T* x, const T* weight, int n, T eps, T* y);
// dx += dL/dx, dweight += dL/dweight, given dy = dL/dy and the forward's inverse rms.
template <typename T>
void rms_norm_backward(const T* x, const T* weight, T inv_rms, const T* dy, int n, T* dx,
                       T* dweight);

// cos/sin of the RoPE angles pos * base^(-2i/head_dim) for positions [0, seq), computed as the
// inference path computes them: table[pos * head_dim/2 + i].
template <typename T>
struct RopeTable {
  RopeTable(int seq, int head_dim, float base);
  int half = 0;
  std::vector<T> cos, sin;
};
// Rotates the pairs (x[2i], x[2i+1]) of each of n_heads heads (adjacent layout, as llama2.c).
template <typename T>
void rope_forward(T* x, int n_heads, int head_dim, const T* cos, const T* sin);
// The transpose (a rotation by the opposite angle), applied to a gradient in place.
template <typename T>
void rope_backward(T* dx, int n_heads, int head_dim, const T* cos, const T* sin);

// h = silu(gate) * up
template <typename T>
void swiglu_forward(const T* gate, const T* up, int n, T* h);
// dgate = dh * up * silu'(gate), dup = dh * silu(gate) (overwritten, not added).
template <typename T>
void swiglu_backward(const T* gate, const T* up, const T* dh, int n, T* dgate, T* dup);

// Cross-entropy of one row of logits against target: returns log(sum(exp(logits))) -
// logits[target]. The row is overwritten: with grad_scale != 0 it becomes grad_scale *
// (softmax(logits) - onehot(target)), the gradient of grad_scale * loss; with 0, scratch values.
template <typename T>
double softmax_cross_entropy(T* logits, int n, int target, T grad_scale);

}  // namespace aded::train
