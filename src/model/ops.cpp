#include "model/ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace aded::ops {

float rms_scale(const float* x, int n, float eps) {
  float ss = 0;
  for (int j = 0; j < n; ++j) ss += x[j] * x[j];
  ss /= static_cast<float>(n);
  ss += eps;
  return 1.0f / std::sqrt(ss);
}

void rms_norm(const float* x, const float* weight, int n, float eps, float* out) {
  const float scale = rms_scale(x, n, eps);
  for (int j = 0; j < n; ++j) out[j] = weight[j] * (scale * x[j]);
}

void layer_norm(const float* x, const float* weight, const float* bias, int n, float eps, float* out) {
  float sum = 0;
  for (int j = 0; j < n; ++j) sum += x[j];
  const float mean = sum / static_cast<float>(n);
  float ss = 0;
  for (int j = 0; j < n; ++j) ss += (x[j] - mean) * (x[j] - mean);
  const float scale = 1.0f / std::sqrt(ss / static_cast<float>(n) + eps);
  for (int j = 0; j < n; ++j) out[j] = weight[j] * ((x[j] - mean) * scale) + bias[j];
}


void rms_norm_rows(const float* x, size_t ldx, const float* weight, int n, float eps, int rows, float* out, size_t ldo) {
  // Each row's sum is one chain of dependent additions (its fixed order); eight rows side by side
  // keep eight chains in flight instead of waiting on one.
  constexpr int kSide = 8;
  int r = 0;
  for (; r + kSide <= rows; r += kSide) {
    float ss[kSide] = {};
    for (int j = 0; j < n; ++j)
      for (int i = 0; i < kSide; ++i) {
        const float v = x[static_cast<size_t>(r + i) * ldx + static_cast<size_t>(j)];
        ss[i] += v * v;
      }
    for (int i = 0; i < kSide; ++i) {
      const float scale = 1.0f / std::sqrt(ss[i] / static_cast<float>(n) + eps);
      const float* xi = x + static_cast<size_t>(r + i) * ldx;
      float* oi = out + static_cast<size_t>(r + i) * ldo;
      for (int j = 0; j < n; ++j) oi[j] = weight[j] * (scale * xi[j]);
    }
  }
  for (; r < rows; ++r) rms_norm(x + static_cast<size_t>(r) * ldx, weight, n, eps, out + static_cast<size_t>(r) * ldo);
}

void model_norm_rows(const ModelConfig& c, const float* x, size_t ldx, const float* weight, const float* bias, int rows,
                     float* out, size_t ldo) {
  if (!c.layer_norm()) return rms_norm_rows(x, ldx, weight, c.dim, c.norm_eps, rows, out, ldo);
  for (int r = 0; r < rows; ++r)
    layer_norm(x + static_cast<size_t>(r) * ldx, weight, bias, c.dim, c.norm_eps, out + static_cast<size_t>(r) * ldo);
}

namespace {

// YaRN's angles, as llama.cpp computes them (ggml's rope_yarn with its default beta_fast = 32 and
// beta_slow = 1, ext_factor 1): pairs turning more than 32 times over the original context keep
// their angles, those turning less than once are interpolated (divided by the factor), linearly
// blended between; the magnitude grows by 1 + 0.1 ln(factor).
void yarn_angles(const ModelConfig& c, std::span<const float> freq_factors, int32_t position, float* cos_out,
                 float* sin_out) {
  constexpr float kBetaFast = 32.0f, kBetaSlow = 1.0f, kPi = 3.14159265358979f;
  const auto dims = static_cast<float>(c.rope_dim);
  const auto pair_of_turns = [&](float turns) {  // the pair that turns this often over the original context
    return dims * std::log(static_cast<float>(c.rope_orig_ctx) / (turns * 2 * kPi)) / (2 * std::log(c.rope_base));
  };
  const float low = std::max(0.0f, std::floor(pair_of_turns(kBetaFast)));
  const float high = std::min(dims - 1, std::ceil(pair_of_turns(kBetaSlow)));
  const float mscale = c.rope_attn_factor * (1.0f + 0.1f * std::log(c.rope_scale));
  const auto pos = static_cast<float>(position);
  for (int i = 0; i < c.rope_dim / 2; ++i) {
    float freq = 1.0f / std::pow(c.rope_base, static_cast<float>(2 * i) / dims);
    if (!freq_factors.empty()) freq /= freq_factors[static_cast<size_t>(i)];
    const float extrapolated = pos * freq, interpolated = extrapolated / c.rope_scale;
    const float keep = 1.0f - std::clamp((static_cast<float>(i) - low) / std::max(0.001f, high - low), 0.0f, 1.0f);
    const float theta = interpolated * (1.0f - keep) + extrapolated * keep;
    cos_out[i] = std::cos(theta) * mscale;
    sin_out[i] = std::sin(theta) * mscale;
  }
}

}  // namespace

void rope_angles(const ModelConfig& c, std::span<const float> freq_factors, int32_t position,
                 float* cos_out, float* sin_out) {
  if (c.rope_yarn) return yarn_angles(c, freq_factors, position, cos_out, sin_out);
  const float pos = static_cast<float>(position) / c.rope_scale;
  for (int i = 0; i < c.rope_dim / 2; ++i) {
    float freq = 1.0f / std::pow(c.rope_base, static_cast<float>(2 * i) / static_cast<float>(c.rope_dim));
    if (!freq_factors.empty()) freq /= freq_factors[static_cast<size_t>(i)];
    const float theta = pos * freq;
    cos_out[i] = std::cos(theta) * c.rope_attn_factor;
    sin_out[i] = std::sin(theta) * c.rope_attn_factor;
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

}  // namespace aded::ops
