// Eight cached keys' or values' elements as floats (AVX2 + F16C), and the cache's prefetching, for
// the attention kernels of the AVX2 and AVX-512 tables. In an unnamed namespace: each table's file
// compiles it with its flags.
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

// Brings the cache lines of the n elements from element i on toward L1 ahead of their use: deep in
// the context a token's attention reads the whole cache (the 1.1B at depth 4096: 92 MB as F16)
// with little arithmetic per byte, and the hardware prefetchers alone left a core at a few GB/s.
template <TensorType T>
inline void prefetch_kv(const void* base, size_t i, int n) {
  const auto* bytes = static_cast<const char*>(base);
  const auto at = [](size_t e) {
    if constexpr (T == TensorType::Q8_0)
      return e / 32 * 34 + 2 + e % 32;
    else
      return e * (T == TensorType::F16 ? 2 : 4);
  };
  const size_t first = at(i), last = at(i + static_cast<size_t>(n) - 1);
  for (size_t b = first & ~size_t{63}; b <= last; b += 64) _mm_prefetch(bytes + b, _MM_HINT_T0);
}
// How many cells ahead the loops over the cache prefetch. 1.1B Q4_0 at depth 4096, one token, 2
// threads, the cache then laid out by cells: 24.1 / 28.3 / 29.8 ms without, 20.3 / 24.8 / 24.1
// prefetching 32 ahead. Head-major, one token's attention over 22 layers x 4 heads in a one-thread
// harness: 16 / 32 / 64 / 128 ahead 8.6-10.0 / 8.8-8.9 / 8.1-8.5 / 9.3-11.6 ms.
constexpr size_t kPrefetchCells = 64;

}  // namespace
}  // namespace aded::kernels
