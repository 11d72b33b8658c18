// Scalar reference conversions between float rows and every supported tensor type. These are the
// definitions the fast kernels are tested against.
#pragma once

#include <cstddef>
#include <cstdint>

#include "aded/tensor_type.h"

namespace aded::quant {

// Dequantizes n elements (a multiple of the type's block size) starting at src.
void dequantize_row(TensorType type, const void* src, float* dst, int64_t n);

// Whether quantize_row supports the type (F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K).
bool can_quantize(TensorType type);
// Quantizes n elements (a multiple of the block size); dst holds row_bytes(type, n) bytes.
void quantize_row(TensorType type, const float* src, void* dst, int64_t n);

// The 6-bit scale and min of sub-block j of a Q4_K/Q5_K super-block.
void k_scale_min(int j, const uint8_t* scales, uint8_t& scale, uint8_t& min);

}  // namespace aded::quant
