// Row-wise operations of the Llama block. Each works on one row at a time with a fixed operation
// order, so a row's result never depends on the batch it is part of.
#pragma once

#include <cstdint>
#include <span>

#include "aded/model.h"
#include "core/kernels/kernels.h"

namespace aded::ops {

// out = weight * (x / rms(x)), as llama2.c: ss = sum(x^2)/n + eps; out[j] = w[j] * (x[j] / sqrt(ss)).
void rms_norm(const float* x, const float* weight, int n, float eps, float* out);
// The factor rms_norm multiplies x by (rms_norm(x)[j] = weight[j] * (rms_scale(x) * x[j])).
float rms_scale(const float* x, int n, float eps);
// LayerNorm (StarCoder2): out = weight * ((x - mean) / sqrt(variance + eps)) + bias, the mean and
// then the variance of the centred values each summed in order.
void layer_norm(const float* x, const float* weight, const float* bias, int n, float eps, float* out);

// rms_norm of `rows` rows (strides ldx, ldo), each exactly as rms_norm computes it alone.
void rms_norm_rows(const float* x, size_t ldx, const float* weight, int n, float eps, int rows, float* out, size_t ldo);
// The norm a model puts before its blocks and its output, of `rows` rows: RMSNorm, or LayerNorm
// with its bias where config.layer_norm().
void model_norm_rows(const ModelConfig& c, const float* x, size_t ldx, const float* weight, const float* bias, int rows,
                     float* out, size_t ldo);

// Rotation angles of one position: cos/sin for each of rope_dim/2 frequency pairs.
void rope_angles(const ModelConfig& c, std::span<const float> freq_factors, int32_t position,
                 float* cos_out, float* sin_out);
// Rotates the first rope_dim dimensions of each of n_heads heads in place.
void rope_apply(const ModelConfig& c, float* x, int n_heads, const float* cos_v, const float* sin_v);

}  // namespace aded::ops
