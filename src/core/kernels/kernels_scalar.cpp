// Portable kernels that follow the canonical operation order literally (see kernels.h). They are
// the fallback on CPUs without AVX2 and the bitwise reference for the SIMD tables.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "aded/error.h"
#include "aded/half.h"
#include "core/kernels/canonical_exp.h"
#include "core/kernels/kernels.h"
#include "core/quant/blocks.h"
#include "core/quant/quant.h"

namespace aded::kernels {

namespace {

float hsum8(const float a[8]) { return ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7])); }

// The matrix float rule: one accumulator.
float dot_float_rule(const float* w, const float* x, int64_t K) {
  float acc = 0;
  for (int64_t k = 0; k < K; ++k) acc = std::fma(w[k], x[k], acc);
  return acc;
}

// Signed integer weights of one 32-element block, in element order.
void unpack_block(TensorType type, const uint8_t* block, int8_t out[32], float& d) {
  using namespace quant;
  switch (type) {
    case TensorType::Q8_0: {
      const auto* b = reinterpret_cast<const BlockQ8_0*>(block);
      d = half_to_float(b->d);
      std::memcpy(out, b->qs, 32);
      return;
    }
    case TensorType::Q4_0: {
      const auto* b = reinterpret_cast<const BlockQ4_0*>(block);
      d = half_to_float(b->d);
      for (int j = 0; j < 16; ++j) {
        out[j] = static_cast<int8_t>((b->qs[j] & 0xF) - 8);
        out[j + 16] = static_cast<int8_t>((b->qs[j] >> 4) - 8);
      }
      return;
    }
    case TensorType::Q5_0: {
      const auto* b = reinterpret_cast<const BlockQ5_0*>(block);
      d = half_to_float(b->d);
      uint32_t qh;
      std::memcpy(&qh, b->qh, 4);
      for (int j = 0; j < 16; ++j) {
        out[j] = static_cast<int8_t>(((b->qs[j] & 0xF) | (((qh >> j) & 1u) << 4)) - 16);
        out[j + 16] = static_cast<int8_t>(((b->qs[j] >> 4) | (((qh >> (j + 16)) & 1u) << 4)) - 16);
      }
      return;
    }
    default: throw Error("unpack_block: not a symmetric 32-block type");
  }
}

float dot_q8_rule(TensorType type, const uint8_t* wrow, const uint8_t* xrow, int64_t K) {
  const int block_bytes = tensor_type_info(type).block_bytes;
  const int8_t* xq = q8_values(xrow);
  const float* xd = q8_scales(xrow, K);
  float acc = 0;
  for (int64_t b = 0; b < K / 32; ++b) {
    int8_t w[32];
    float dw;
    unpack_block(type, wrow + b * block_bytes, w, dw);
    int32_t isum = 0;
    for (int i = 0; i < 32; ++i) isum += w[i] * xq[32 * b + i];
    acc = std::fma(static_cast<float>(isum), dw * xd[b], acc);
  }
  return acc;
}

// The 32 stored values of 32-element block j (0..7) of a k-quant super-block, unsigned, and the
// block's integer scales: Q4_K/Q5_K: scale sc and min m (w = d sc q - dmin m); Q6_K: lanes 0-3
// and 4-7 have their own signed scale and w = d scale (q - 32).
struct KBlock {
  uint8_t q[32];
  int32_t scale[2];  // [0] lanes 0-3, [1] lanes 4-7 (equal for Q4_K/Q5_K)
  int32_t min;
  float d, dmin;
};

KBlock unpack_k_block(TensorType type, const uint8_t* super_block, int j) {
  using namespace quant;
  KBlock k{};
  switch (type) {
    case TensorType::Q4_K: {
      const auto* b = reinterpret_cast<const BlockQ4_K*>(super_block);
      uint8_t sc, m;
      k_scale_min(j, b->scales, sc, m);
      k.scale[0] = k.scale[1] = sc;
      k.min = m;
      k.d = half_to_float(b->d);
      k.dmin = half_to_float(b->dmin);
      for (int l = 0; l < 32; ++l) k.q[l] = static_cast<uint8_t>((b->qs[32 * (j / 2) + l] >> (4 * (j & 1))) & 0xF);
      return k;
    }
    case TensorType::Q5_K: {
      const auto* b = reinterpret_cast<const BlockQ5_K*>(super_block);
      uint8_t sc, m;
      k_scale_min(j, b->scales, sc, m);
      k.scale[0] = k.scale[1] = sc;
      k.min = m;
      k.d = half_to_float(b->d);
      k.dmin = half_to_float(b->dmin);
      for (int l = 0; l < 32; ++l)
        k.q[l] = static_cast<uint8_t>(((b->qs[32 * (j / 2) + l] >> (4 * (j & 1))) & 0xF) | (((b->qh[l] >> j) & 1) << 4));
      return k;
    }
    case TensorType::Q6_K: {
      const auto* b = reinterpret_cast<const BlockQ6_K*>(super_block);
      const int n = j / 4, kk = j % 4;
      for (int l = 0; l < 32; ++l) {
        const int low = (b->ql[64 * n + 32 * (kk & 1) + l] >> (4 * (kk >> 1))) & 0xF;
        const int high = (b->qh[32 * n + l] >> (2 * kk)) & 3;
        k.q[l] = static_cast<uint8_t>(low | (high << 4));
      }
      k.scale[0] = b->scales[8 * n + 2 * kk];
      k.scale[1] = b->scales[8 * n + 2 * kk + 1];
      k.d = half_to_float(b->d);
      return k;
    }
    default: throw Error("unpack_k_block: not a k-quant type");
  }
}

// Canonical k-quant rule (kernels.h), with Q8K activations.
float dot_k_rule(TensorType type, const uint8_t* wrow, const uint8_t* xrow, int64_t K) {
  const int block_bytes = tensor_type_info(type).block_bytes;
  const int8_t* xq = q8_values(xrow);
  const float* xd = q8k_scales(xrow, K);
  const int16_t* sums16 = q8k_sums16(xrow, K);
  float acc[8] = {};
  for (int64_t s = 0; s < K / 256; ++s) {
    int32_t isum[8] = {}, mins[8] = {};
    float d = 0, dmin = 0;
    for (int j = 0; j < 8; ++j) {
      const KBlock k = unpack_k_block(type, wrow + s * block_bytes, j);
      d = k.d;
      dmin = k.dmin;
      const int8_t* x = xq + 256 * s + 32 * j;
      for (int l = 0; l < 8; ++l) {
        int32_t part = 0;
        for (int i = 4 * l; i < 4 * l + 4; ++i) part += (type == TensorType::Q6_K ? k.q[i] - 32 : k.q[i]) * x[i];
        isum[l] += k.scale[l / 4] * part;
      }
      mins[j] = k.min * (sums16[16 * s + 2 * j] + sums16[16 * s + 2 * j + 1]);
    }
    const float dx = xd[s];
    for (int l = 0; l < 8; ++l) {
      acc[l] = std::fma(static_cast<float>(isum[l]), d * dx, acc[l]);
      if (type != TensorType::Q6_K) acc[l] = std::fma(static_cast<float>(mins[l]), -(dmin * dx), acc[l]);
    }
  }
  return hsum8(acc);
}

void matmul_scalar(const MatMulArgs& a, int64_t j0, int64_t j1) {
  const InputFormat format = input_format(a.type);
  std::vector<float> wrow;
  for (int64_t j = j0; j < j1; ++j) {
    const uint8_t* w = a.w + static_cast<size_t>(j) * a.w_stride;
    if (format != InputFormat::F32) {
      for (int r = 0; r < a.n; ++r) {
        const uint8_t* x = a.x + static_cast<size_t>(r) * a.x_stride;
        a.y[static_cast<size_t>(r) * a.y_stride + static_cast<size_t>(j)] =
            format == InputFormat::Q8K ? dot_k_rule(a.type, w, x, a.K) : dot_q8_rule(a.type, w, x, a.K);
      }
      continue;
    }
    wrow.resize(static_cast<size_t>(a.K));
    quant::dequantize_row(a.type, w, wrow.data(), a.K);
    for (int r = 0; r < a.n; ++r) {
      const auto* x = reinterpret_cast<const float*>(a.x + static_cast<size_t>(r) * a.x_stride);
      a.y[static_cast<size_t>(r) * a.y_stride + static_cast<size_t>(j)] = dot_float_rule(wrow.data(), x, a.K);
    }
  }
}

void quantize_q8_scalar(const float* x, size_t ldx, int n, int64_t K, uint8_t* out, size_t stride) {
  for (int r = 0; r < n; ++r) quantize_q8_row_reference(x + r * ldx, K, out + r * stride);
}

void quantize_q8k_scalar(const float* x, size_t ldx, int n, int64_t K, uint8_t* out, size_t stride) {
  for (int r = 0; r < n; ++r) quantize_q8k_row_reference(x + r * ldx, K, out + r * stride);
}

float dot_scalar(const float* a, const float* b, int64_t n) {
  float acc[8] = {};
  for (int64_t k = 0; k < n; ++k) acc[k % 8] = std::fma(a[k], b[k], acc[k % 8]);
  return hsum8(acc);
}

void axpy_scalar(float a, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::fma(a, x[i], y[i]);
}

// Element i of the cached keys or values (F32, F16 exactly as float, Q8_0 as q * d).
float kv_element(const void* base, TensorType type, size_t i) {
  if (type == TensorType::Q8_0) {
    const auto& block = static_cast<const quant::BlockQ8_0*>(base)[i / 32];
    return static_cast<float>(block.qs[i % 32]) * half_to_float(block.d);
  }
  return type == TensorType::F16 ? half_to_float(static_cast<const uint16_t*>(base)[i]) : static_cast<const float*>(base)[i];
}

// The cache row of the query's key t: the shared prefix in order, then its own cells.
size_t kv_row(const AttentionArgs& a, size_t t) {
  const auto prefix = static_cast<size_t>(a.prefix);
  return (t < prefix ? t : static_cast<size_t>(a.cells[t - prefix])) * a.kv_stride + a.offset;
}

// dot(q, k_t) / root by the dot rule.
float key_score(const AttentionArgs& a, size_t t, float root) {
  float acc[8] = {};
  for (int i = 0; i < a.head_dim; ++i)
    acc[i % 8] = std::fma(a.q[i], kv_element(a.k, a.k_type, kv_row(a, t) + static_cast<size_t>(i)), acc[i % 8]);
  return hsum8(acc) / root;
}

// Scores of the keys [first, n_keys) become e_t = exp(s_t - max); returns their sum in key order.
float exponentials(const AttentionArgs& a, size_t n_keys) {
  const auto first = static_cast<size_t>(a.first);
  soft_cap_scores(a.scores + first, n_keys - first, a.softcap);
  float max = -INFINITY;
  for (size_t t = first; t < n_keys; ++t) max = std::fmax(max, a.scores[t]);
  float sum = 0;
  for (size_t t = first; t < n_keys; ++t) {
    a.scores[t] = canonical_exp(a.scores[t] - max);
    sum += a.scores[t];
  }
  return sum;
}

// out[c0, c1) = sum of p_t v_t over the keys from `first`, in order, p_t = scores[t] / sum.
void weighted_values(const AttentionArgs& a, size_t n_keys, float sum, int c0, int c1) {
  for (int i = c0; i < c1; ++i) a.out[i] = 0;
  for (size_t t = static_cast<size_t>(a.first); t < n_keys; ++t) {
    const float p = a.scores[t] / sum;
    for (int i = c0; i < c1; ++i) a.out[i] = std::fma(p, kv_element(a.v, a.v_type, kv_row(a, t) + static_cast<size_t>(i)), a.out[i]);
  }
}

size_t n_keys_of(const AttentionArgs& a) { return static_cast<size_t>(a.prefix) + a.n_cells; }
float root_of(const AttentionArgs& a) { return std::sqrt(static_cast<float>(a.head_dim)); }

void attend_scalar(const AttentionArgs& a) {
  const size_t n_keys = n_keys_of(a);
  for (size_t t = static_cast<size_t>(a.first); t < n_keys; ++t) a.scores[t] = key_score(a, t, root_of(a));
  weighted_values(a, n_keys, exponentials(a, n_keys), 0, a.head_dim);
}

void attend_many_scalar(const AttentionArgs* args, int count) {
  for (int i = 0; i < count; ++i) attend_scalar(args[i]);
}

}  // namespace

namespace detail {

void attend_scores_scalar(const AttentionArgs* args, int count, size_t t0, size_t t1) {
  for (int i = 0; i < count; ++i)
    for (size_t t = t0; t < t1; ++t) args[i].scores[t] = key_score(args[i], t, root_of(args[i]));
}

void attend_finish_scalar(const AttentionArgs* args, int count, size_t) {
  for (int i = 0; i < count; ++i) {
    const AttentionArgs& a = args[i];
    const size_t n_keys = n_keys_of(a);
    for (size_t t = static_cast<size_t>(a.prefix); t < n_keys; ++t) a.scores[t] = key_score(a, t, root_of(a));
    weighted_values(a, n_keys, exponentials(a, n_keys), 0, a.head_dim);
  }
}

}  // namespace detail

namespace {

void swiglu_scalar(float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    gate[i] = g * (1.0f / (1.0f + canonical_exp(-g))) * up[i];
  }
}

void gelu_gate_scalar(float* gate, const float* up, int64_t n) {
  if (!up) {
    for (int64_t i = 0; i < n; ++i) gate[i] = canonical_gelu(gate[i]);
    return;
  }
  for (int64_t i = 0; i < n; ++i) gate[i] = canonical_gelu(gate[i]) * up[i];
}

}  // namespace

InputFormat input_format(TensorType t) {
  switch (t) {
    case TensorType::Q8_0: case TensorType::Q4_0: case TensorType::Q5_0: return InputFormat::Q8;
    case TensorType::Q4_K: case TensorType::Q5_K: case TensorType::Q6_K: return InputFormat::Q8K;
    default: return InputFormat::F32;
  }
}

size_t input_row_bytes(InputFormat format, int64_t K) {
  const auto k = static_cast<size_t>(K);
  const size_t bytes = format == InputFormat::F32  ? k * 4
                       : format == InputFormat::Q8 ? k + k / 32 * (4 + 4)
                                                   : k + k / 256 * 4 + k / 16 * 2;
  return (bytes + 31) / 32 * 32;
}

void quantize_q8_row_reference(const float* x, int64_t K, uint8_t* out) {
  auto* q = reinterpret_cast<int8_t*>(out);
  auto* d = reinterpret_cast<float*>(out + K);
  for (int64_t b = 0; b < K / 32; ++b) {
    float amax = 0;
    for (int i = 0; i < 32; ++i) amax = std::fmax(amax, std::fabs(x[32 * b + i]));
    const float scale = amax / 127.0f;
    const float inv = scale != 0 ? 127.0f / amax : 0.0f;
    d[b] = scale;
    for (int i = 0; i < 32; ++i)
      q[32 * b + i] = static_cast<int8_t>(std::nearbyint(x[32 * b + i] * inv));
  }
  auto* sums = reinterpret_cast<int32_t*>(out + K + K / 32 * 4);
  for (int64_t b = 0; b < K / 32; ++b) {
    int32_t sum = 0;
    for (int i = 0; i < 32; ++i) sum += q[32 * b + i];
    sums[b] = sum;
  }
}

void quantize_q8k_row_reference(const float* x, int64_t K, uint8_t* out) {
  auto* q = reinterpret_cast<int8_t*>(out);
  auto* d = reinterpret_cast<float*>(out + K);
  auto* sums = reinterpret_cast<int16_t*>(out + K + K / 256 * 4);
  for (int64_t b = 0; b < K / 256; ++b) {
    float amax = 0;
    for (int i = 0; i < 256; ++i) amax = std::fmax(amax, std::fabs(x[256 * b + i]));
    d[b] = amax / 127.0f;
    const float inv = amax != 0 ? 127.0f / amax : 0.0f;
    for (int i = 0; i < 256; ++i) q[256 * b + i] = static_cast<int8_t>(std::nearbyint(x[256 * b + i] * inv));
  }
  for (int64_t g = 0; g < K / 16; ++g) {
    int sum = 0;
    for (int i = 0; i < 16; ++i) sum += q[16 * g + i];
    sums[g] = static_cast<int16_t>(sum);
  }
}

const KernelTable& scalar_kernels() {
  static const KernelTable table{"scalar",      false,       quantize_q8_scalar, quantize_q8k_scalar, matmul_scalar,
                                 dot_scalar,    axpy_scalar, attend_scalar,      attend_many_scalar, swiglu_scalar,
                                 gelu_gate_scalar, soft_cap_scores, detail::scan_logits_scalar, detail::keep_at_least_scalar,
                                 detail::sum_exp_at_scalar, detail::attend_scores_scalar, detail::attend_finish_scalar};
  return table;
}

std::vector<const KernelTable*> available_kernels() {
  std::vector<const KernelTable*> tables{&scalar_kernels()};
  for (const KernelTable* t : {avx2_kernels(), avx512_kernels()})
    if (t) tables.push_back(t);
  return tables;
}

const KernelTable& best_kernels() {
  static const KernelTable& table = []() -> const KernelTable& {
    const auto tables = available_kernels();
    if (const char* force = std::getenv("ADED_KERNELS"); force && *force) {
      for (const KernelTable* t : tables)
        if (std::strcmp(force, t->name) == 0) return *t;
      throw Error(fmt::format("ADED_KERNELS={}: this CPU runs only{}", force, [&] {
        std::string names;
        for (const KernelTable* t : tables) names += std::string(" ") + t->name;
        return names;
      }()));
    }
    return *tables.back();
  }();
  return table;
}

}  // namespace aded::kernels
