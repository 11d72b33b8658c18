// Reference quantizers. Q8_0, Q4_0 and Q5_0 follow ggml's reference rounding; the k-quant
// quantizers are simple (min/max per sub-block, no error search): good enough for tests and for
// users who want a quick conversion, not tuned for quality.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "aded/error.h"
#include "aded/half.h"
#include "core/quant/blocks.h"
#include "core/quant/quant.h"

namespace aded::quant {

namespace {

// The element with the largest magnitude, sign kept.
float signed_absmax(const float* x, int n) {
  float amax = 0, max = 0;
  for (int j = 0; j < n; ++j) {
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

void quantize_q8_0(const float* x, BlockQ8_0* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += QK) {
    float amax = 0;
    for (int j = 0; j < QK; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    b[i].d = float_to_half(d);
    for (int j = 0; j < QK; ++j) b[i].qs[j] = static_cast<int8_t>(std::lround(x[j] * id));
  }
}

void quantize_q4_0(const float* x, BlockQ4_0* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += QK) {
    const float d = signed_absmax(x, QK) / -8.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    b[i].d = float_to_half(d);
    for (int j = 0; j < QK / 2; ++j) {
      const int lo = std::min(15, static_cast<int>(x[j] * id + 8.5f));
      const int hi = std::min(15, static_cast<int>(x[j + QK / 2] * id + 8.5f));
      b[i].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

void quantize_q5_0(const float* x, BlockQ5_0* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += QK) {
    const float d = signed_absmax(x, QK) / -16.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    b[i].d = float_to_half(d);
    uint32_t qh = 0;
    for (int j = 0; j < QK / 2; ++j) {
      const int lo = std::min(31, static_cast<int>(x[j] * id + 16.5f));
      const int hi = std::min(31, static_cast<int>(x[j + QK / 2] * id + 16.5f));
      b[i].qs[j] = static_cast<uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
      qh |= static_cast<uint32_t>((lo >> 4) & 1) << j;
      qh |= static_cast<uint32_t>((hi >> 4) & 1) << (j + 16);
    }
    std::memcpy(b[i].qh, &qh, 4);
  }
}

uint8_t to_6bit(float v) { return static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 63L)); }

// Q4_K and Q5_K share their layout of scales, mins and low nibbles; Q5_K adds a fifth bit.
template <typename Block, int kLevels>
void quantize_k_min(const float* x, Block* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += QK_K) {
    float scales[8], mins[8];
    for (int s = 0; s < 8; ++s) {
      const float* xs = x + 32 * s;
      float lo = 0, hi = 0;
      for (int l = 0; l < 32; ++l) {
        lo = std::min(lo, xs[l]);
        hi = std::max(hi, xs[l]);
      }
      scales[s] = (hi - lo) / static_cast<float>(kLevels);
      mins[s] = -lo;
    }
    const float max_scale = *std::max_element(scales, scales + 8);
    const float max_min = *std::max_element(mins, mins + 8);
    b[i].d = float_to_half(max_scale / 63.0f);
    b[i].dmin = float_to_half(max_min / 63.0f);
    const float dh = half_to_float(b[i].d), dminh = half_to_float(b[i].dmin);
    std::memset(b[i].scales, 0, sizeof(b[i].scales));
    uint8_t q[QK_K];
    for (int s = 0; s < 8; ++s) {
      const uint8_t sc = dh != 0 ? to_6bit(scales[s] / dh) : 0;
      const uint8_t m = dminh != 0 ? to_6bit(mins[s] / dminh) : 0;
      if (s < 4) {
        b[i].scales[s] = sc;
        b[i].scales[s + 4] = m;
      } else {
        b[i].scales[s + 4] = static_cast<uint8_t>((sc & 0xF) | ((m & 0xF) << 4));
        b[i].scales[s - 4] = static_cast<uint8_t>(b[i].scales[s - 4] | ((sc >> 4) << 6));
        b[i].scales[s] = static_cast<uint8_t>(b[i].scales[s] | ((m >> 4) << 6));
      }
      const float step = dh * sc, offset = dminh * m;
      for (int l = 0; l < 32; ++l) {
        const float v = step != 0 ? (x[32 * s + l] + offset) / step : 0;
        q[32 * s + l] = static_cast<uint8_t>(std::clamp(std::lround(v), 0L, static_cast<long>(kLevels)));
      }
    }
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l)
        b[i].qs[32 * c + l] = static_cast<uint8_t>((q[64 * c + l] & 0xF) | ((q[64 * c + 32 + l] & 0xF) << 4));
    if constexpr (kLevels == 31) {
      std::memset(b[i].qh, 0, sizeof(b[i].qh));
      for (int s = 0; s < 8; ++s)
        for (int l = 0; l < 32; ++l)
          b[i].qh[l] = static_cast<uint8_t>(b[i].qh[l] | (((q[32 * s + l] >> 4) & 1) << s));
    }
  }
}

void quantize_q6_k(const float* x, BlockQ6_K* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += QK_K) {
    float scales[16];
    float max_abs_scale = 0;
    for (int g = 0; g < 16; ++g) {
      scales[g] = signed_absmax(x + 16 * g, 16) / -32.0f;
      max_abs_scale = std::max(max_abs_scale, std::fabs(scales[g]));
    }
    const float d = max_abs_scale / 127.0f;
    b[i].d = float_to_half(d);
    const float dh = half_to_float(b[i].d);
    int q[QK_K];
    for (int g = 0; g < 16; ++g) {
      const long sc = dh != 0 ? std::clamp(std::lround(scales[g] / dh), -128L, 127L) : 0;
      b[i].scales[g] = static_cast<int8_t>(sc);
      const float step = dh * static_cast<float>(sc);
      for (int l = 0; l < 16; ++l) {
        const float v = step != 0 ? x[16 * g + l] / step : 0;
        q[16 * g + l] = static_cast<int>(std::clamp(std::lround(v), -32L, 31L)) + 32;
      }
    }
    for (int c = 0; c < 2; ++c) {
      uint8_t* ql = b[i].ql + 64 * c;
      uint8_t* qh = b[i].qh + 32 * c;
      const int* qc = q + 128 * c;
      for (int l = 0; l < 32; ++l) {
        const int q1 = qc[l], q2 = qc[l + 32], q3 = qc[l + 64], q4 = qc[l + 96];
        ql[l] = static_cast<uint8_t>((q1 & 0xF) | ((q3 & 0xF) << 4));
        ql[l + 32] = static_cast<uint8_t>((q2 & 0xF) | ((q4 & 0xF) << 4));
        qh[l] = static_cast<uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
      }
    }
  }
}

}  // namespace

bool can_quantize(TensorType type) {
  switch (type) {
    case TensorType::F32: case TensorType::F16: case TensorType::BF16: case TensorType::Q8_0:
    case TensorType::Q4_0: case TensorType::Q5_0: case TensorType::Q4_K: case TensorType::Q5_K:
    case TensorType::Q6_K:
      return true;
    default: return false;
  }
}

void quantize_row(TensorType type, const float* x, void* dst, int64_t n) {
  const auto& info = tensor_type_info(type);
  if (n % info.block_size != 0) throw Error("quantize_row: length is not a multiple of the block size");
  const int64_t nb = n / info.block_size;
  switch (type) {
    case TensorType::F32: std::memcpy(dst, x, static_cast<size_t>(n) * 4); return;
    case TensorType::F16: {
      auto* h = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) h[i] = float_to_half(x[i]);
      return;
    }
    case TensorType::BF16: {
      auto* h = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) h[i] = float_to_bf16(x[i]);
      return;
    }
    case TensorType::Q8_0: return quantize_q8_0(x, static_cast<BlockQ8_0*>(dst), nb);
    case TensorType::Q4_0: return quantize_q4_0(x, static_cast<BlockQ4_0*>(dst), nb);
    case TensorType::Q5_0: return quantize_q5_0(x, static_cast<BlockQ5_0*>(dst), nb);
    case TensorType::Q4_K: return quantize_k_min<BlockQ4_K, 15>(x, static_cast<BlockQ4_K*>(dst), nb);
    case TensorType::Q5_K: return quantize_k_min<BlockQ5_K, 31>(x, static_cast<BlockQ5_K*>(dst), nb);
    case TensorType::Q6_K: return quantize_q6_k(x, static_cast<BlockQ6_K*>(dst), nb);
    default: break;
  }
  fail("quantizing to {} is not supported (supported: F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K)",
       tensor_type_name(type));
}

}  // namespace aded::quant
