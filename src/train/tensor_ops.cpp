#include "train/tensor_ops.h"

#include <cmath>

#include <type_traits>

#include "train/vector_kernels.h"

namespace aded::train {

template <typename T>
T rms_norm_forward(const T* x, const T* weight, int n, T eps, T* y) {
  T ss = 0;
  for (int j = 0; j < n; ++j) ss += x[j] * x[j];
  ss /= static_cast<T>(n);
  ss += eps;
  const T inv_rms = T(1) / std::sqrt(ss);
  for (int j = 0; j < n; ++j) y[j] = weight[j] * (inv_rms * x[j]);
  return inv_rms;
}

template <typename T>
void rms_norm_backward(const T* x, const T* weight, T inv_rms, const T* dy, int n, T* dx,
                       T* dweight) {
  // y_j = w_j x_j r with r = (sum x^2 / n + eps)^(-1/2), dr/dx_k = -r^3 x_k / n.
  T dot = 0;  // sum_k w_k dy_k x_k
  for (int k = 0; k < n; ++k) {
    const T wdy = weight[k] * dy[k];
    dot += wdy * x[k];
    dweight[k] += dy[k] * x[k] * inv_rms;
  }
  const T c = dot * inv_rms * inv_rms * inv_rms / static_cast<T>(n);
  for (int k = 0; k < n; ++k) dx[k] += weight[k] * dy[k] * inv_rms - c * x[k];
}

template <typename T>
RopeTable<T>::RopeTable(int seq, int head_dim, float base) : half(head_dim / 2) {
  cos.resize(static_cast<size_t>(seq) * static_cast<size_t>(half));
  sin.resize(cos.size());
  for (int pos = 0; pos < seq; ++pos) {
    for (int i = 0; i < half; ++i) {
      const size_t at =
          static_cast<size_t>(pos) * static_cast<size_t>(half) + static_cast<size_t>(i);
      if constexpr (sizeof(T) == sizeof(float)) {
        // Exactly the float computation of ops::rope_angles.
        const float freq =
            1.0f / std::pow(base, static_cast<float>(2 * i) / static_cast<float>(head_dim));
        const float theta = static_cast<float>(pos) * freq;
        cos[at] = std::cos(theta);
        sin[at] = std::sin(theta);
      } else {
        const T freq =
            T(1) / std::pow(static_cast<T>(base), static_cast<T>(2 * i) / static_cast<T>(head_dim));
        cos[at] = std::cos(static_cast<T>(pos) * freq);
        sin[at] = std::sin(static_cast<T>(pos) * freq);
      }
    }
  }
}

template <typename T>
void rope_forward(T* x, int n_heads, int head_dim, const T* cos, const T* sin) {
  for (int h = 0; h < n_heads; ++h) {
    T* v = x + static_cast<size_t>(h) * static_cast<size_t>(head_dim);
    for (int i = 0; i < head_dim / 2; ++i) {
      const T x0 = v[2 * i], x1 = v[2 * i + 1];
      v[2 * i] = x0 * cos[i] - x1 * sin[i];
      v[2 * i + 1] = x0 * sin[i] + x1 * cos[i];
    }
  }
}

template <typename T>
void rope_backward(T* dx, int n_heads, int head_dim, const T* cos, const T* sin) {
  for (int h = 0; h < n_heads; ++h) {
    T* v = dx + static_cast<size_t>(h) * static_cast<size_t>(head_dim);
    for (int i = 0; i < head_dim / 2; ++i) {
      const T d0 = v[2 * i], d1 = v[2 * i + 1];
      v[2 * i] = d0 * cos[i] + d1 * sin[i];
      v[2 * i + 1] = d1 * cos[i] - d0 * sin[i];
    }
  }
}

template <typename T>
void swiglu_forward(const T* gate, const T* up, int n, T* h) {
  if constexpr (std::is_same_v<T, float>) return swiglu_forward_f32(gate, up, n, h);
  for (int i = 0; i < n; ++i) {
    const T g = gate[i];
    h[i] = g * (T(1) / (T(1) + std::exp(-g))) * up[i];
  }
}

template <typename T>
void swiglu_backward(const T* gate, const T* up, const T* dh, int n, T* dgate, T* dup) {
  if constexpr (std::is_same_v<T, float>) return swiglu_backward_f32(gate, up, dh, n, dgate, dup);
  for (int i = 0; i < n; ++i) {
    const T g = gate[i];
    const T sig = T(1) / (T(1) + std::exp(-g));
    const T silu = g * sig;
    const T d = dh[i];
    dgate[i] = d * up[i] * (sig * (T(1) + g * (T(1) - sig)));
    dup[i] = d * silu;
  }
}

template <typename T>
double softmax_cross_entropy(T* logits, int n, int target, T grad_scale) {
  const T target_logit = logits[target];
  const T max = row_max(logits, n);
  const T sum = exp_and_sum(logits, max, logits, n);
  if (grad_scale == T(0))
    return static_cast<double>(max) + std::log(static_cast<double>(sum)) -
           static_cast<double>(target_logit);
  const T scale = grad_scale / sum;
  for (int i = 0; i < n; ++i) logits[i] *= scale;
  logits[target] -= grad_scale;
  return static_cast<double>(max) + std::log(static_cast<double>(sum)) -
         static_cast<double>(target_logit);
}

#define ADED_INSTANTIATE(T)                                                         \
  template T rms_norm_forward<T>(const T*, const T*, int, T, T*);                   \
  template void rms_norm_backward<T>(const T*, const T*, T, const T*, int, T*, T*); \
  template struct RopeTable<T>;                                                     \
  template void rope_forward<T>(T*, int, int, const T*, const T*);                  \
  template void rope_backward<T>(T*, int, int, const T*, const T*);                 \
  template void swiglu_forward<T>(const T*, const T*, int, T*);                     \
  template void swiglu_backward<T>(const T*, const T*, const T*, int, T*, T*);      \
  template double softmax_cross_entropy<T>(T*, int, int, T);
ADED_INSTANTIATE(float)
ADED_INSTANTIATE(double)
#undef ADED_INSTANTIATE

}  // namespace aded::train
