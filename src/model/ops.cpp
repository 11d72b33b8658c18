#include "model/ops.h"

#include <cmath>
#include <cstring>

namespace aded::ops {

void rms_norm(const float* x, const float* weight, int n, float eps, float* out) {
  float ss = 0;
  for (int j = 0; j < n; ++j) ss += x[j] * x[j];
  ss /= static_cast<float>(n);
  ss += eps;
  const float scale = 1.0f / std::sqrt(ss);
  for (int j = 0; j < n; ++j) out[j] = weight[j] * (scale * x[j]);
}

void rope_angles(const ModelConfig& c, std::span<const float> freq_factors, int32_t position,
                 float* cos_out, float* sin_out) {
  const float pos = static_cast<float>(position) / c.rope_scale;
  for (int i = 0; i < c.rope_dim / 2; ++i) {
    float freq = 1.0f / std::pow(c.rope_base, static_cast<float>(2 * i) / static_cast<float>(c.rope_dim));
    if (!freq_factors.empty()) freq /= freq_factors[static_cast<size_t>(i)];
    const float theta = pos * freq;
    cos_out[i] = std::cos(theta);
    sin_out[i] = std::sin(theta);
  }
}

void rope_apply(const ModelConfig& c, float* x, int n_heads, const float* cos_v, const float* sin_v) {
  const int half = c.rope_dim / 2;
  for (int h = 0; h < n_heads; ++h) {
    float* v = x + static_cast<size_t>(h) * static_cast<size_t>(c.head_dim);
    if (c.rope_layout == RopeLayout::Adjacent) {
      for (int i = 0; i < half; ++i) {
        const float x0 = v[2 * i], x1 = v[2 * i + 1];
        v[2 * i] = x0 * cos_v[i] - x1 * sin_v[i];
        v[2 * i + 1] = x0 * sin_v[i] + x1 * cos_v[i];
      }
    } else {
      for (int i = 0; i < half; ++i) {
        const float x0 = v[i], x1 = v[i + half];
        v[i] = x0 * cos_v[i] - x1 * sin_v[i];
        v[i + half] = x0 * sin_v[i] + x1 * cos_v[i];
      }
    }
  }
}

void swiglu(float* gate, const float* up, int n) {
  for (int i = 0; i < n; ++i) {
    const float g = gate[i];
    gate[i] = g * (1.0f / (1.0f + std::exp(-g))) * up[i];
  }
}

void attend(const kernels::KernelTable& kt, const float* q, const float* k_cache, const float* v_cache,
            size_t kv_stride, int head_dim, int32_t prefix, std::span<const int32_t> cells,
            float* scores, float* out) {
  const float root = std::sqrt(static_cast<float>(head_dim));
  const size_t n_keys = static_cast<size_t>(prefix) + cells.size();
  auto cell_at = [&](size_t i) -> size_t {
    return i < static_cast<size_t>(prefix) ? i : static_cast<size_t>(cells[i - static_cast<size_t>(prefix)]);
  };
  float max = -INFINITY;
  for (size_t i = 0; i < n_keys; ++i) {
    scores[i] = kt.dot(q, k_cache + cell_at(i) * kv_stride, head_dim) / root;
    max = std::fmax(max, scores[i]);
  }
  float sum = 0;
  for (size_t i = 0; i < n_keys; ++i) {
    scores[i] = std::exp(scores[i] - max);
    sum += scores[i];
  }
  std::memset(out, 0, static_cast<size_t>(head_dim) * sizeof(float));
  for (size_t i = 0; i < n_keys; ++i) kt.axpy(scores[i] / sum, v_cache + cell_at(i) * kv_stride, out, head_dim);
}

}  // namespace aded::ops
