// Eight cached keys' or values' elements as floats (AVX2 + F16C), for the attention kernels of the
// AVX2 and AVX-512 tables. In an unnamed namespace: each table's file compiles it with its flags.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "aded/tensor_type.h"

namespace aded::kernels {
namespace {

// Elements [i, i + 8) of the cache (i % 8 == 0): F32; F16 exactly; Q8_0 as q * d of their block
// (eight elements never straddle a 32-element block).
template <TensorType T>
inline __m256 load_kv8(const void* base, size_t i) {
  if constexpr (T == TensorType::Q8_0) {
    const auto* block = static_cast<const uint8_t*>(base) + i / 32 * 34;
    const __m256 q = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(block + 2 + i % 32))));
    uint16_t d;
    std::memcpy(&d, block, 2);
    return _mm256_mul_ps(q, _mm256_set1_ps(_cvtsh_ss(d)));
  } else if constexpr (T == TensorType::F16) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(base) + i)));
  } else {
    return _mm256_loadu_ps(static_cast<const float*>(base) + i);
  }
}

}  // namespace
}  // namespace aded::kernels
