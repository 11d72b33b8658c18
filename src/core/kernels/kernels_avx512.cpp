// AVX-512 kernels (F, BW, VL, VNNI) on packed weights (packing.h): a 512-bit vector holds the 16
// output rows of a group, so the float rule is one fma per element and group, and the Q8 rule is
// one vpdpbusd per 4 elements and group (exact int32 block sums), then one fma per block.
// Attention is in attention_avx512.cpp; the k-quants and the other vector operations (dot, axpy,
// swiglu) use the AVX2 code.
#include <immintrin.h>

#include "core/cpu_features.h"
#include "core/kernels/kernels.h"
#include "core/kernels/packed_driver.h"

namespace aded::kernels {

namespace {

// ---------------------------------------------------------------- float weights (F32, F16, BF16)

struct LoadF32x16 {
  // A chunk of 4 groups is 16 KB: half of L1, so the next one can be fetched in beside it.
  static constexpr int64_t kChunk = 64;
  static constexpr int64_t kBytes = 64;  // per element and group
  static __m512 load(const uint8_t* group, int64_t k) { return _mm512_loadu_ps(group + k * 64); }
};
struct LoadF16x16 {
  static constexpr int64_t kChunk = 128;
  static constexpr int64_t kBytes = 32;
  static __m512 load(const uint8_t* group, int64_t k) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(group + k * 32)));
  }
};
struct LoadBF16x16 {
  static constexpr int64_t kChunk = 128;
  static constexpr int64_t kBytes = 32;
  static __m512 load(const uint8_t* group, int64_t k) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(group + k * 32));
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
};

// Groups per tile: each group is a weight stream, and more streams keep more memory requests in
// flight (a forward over a few tokens is limited by how fast weights arrive). Four groups x six
// rows (24 accumulators of the 32 registers) is the shape for the layers of small models, whose
// slices of a matrix are a few dozen groups and largely cached: a tree of 5 or 6 tokens is then
// one pass over the weights (code15M forwards of 5 / 6 tokens: 0.50 / 0.565 ms with four rows,
// 0.47 / 0.53 ms; eight rows of three groups gained nothing more). Eight x two (the chunk halved
// to stay at 16 KB) for long slices that stream from memory (Wide below): 8 rows of code15M's
// 32000 x 288 output matrix 1156 -> 952-968 us, but 0.80 -> 0.86 ms for a whole 8-token forward
// of its layers.
template <class L, int Groups = 4>
struct FloatKernel {
  static constexpr int kGroups = Groups, kRows = Groups == 8 ? 2 : 6, kGroupsNarrow = Groups;
  static constexpr int64_t kChunk = Groups == 8 ? L::kChunk / 2 : L::kChunk;

  template <int GS, int RX>
  static void tile(const Job& job, const uint8_t* const* groups, int row, int64_t k0, int64_t k1, const TileAcc& acc) {
    const MatMulArgs& a = *job.args;
    const float* x[RX];
    for (int c = 0; c < RX; ++c) x[c] = reinterpret_cast<const float*>(a.x + static_cast<size_t>(row + c) * a.x_stride);
    __m512 s[GS][RX];
    for (int c = 0; c < RX; ++c)
      for (int g = 0; g < GS; ++g) s[g][c] = acc.first ? _mm512_setzero_ps() : _mm512_load_ps(acc.in + (c * GS + g) * kPackRows);
    // The first tile over a chunk streams its weights from memory, the later ones compute from
    // L1; fetching the next chunk meanwhile overlaps the two (a forward over 5..16 tokens, as in
    // tree verification, was paying memory time plus compute time instead of the larger of them).
    const int64_t ahead = k1 + kChunk <= a.K ? 2 * kChunk : 0;
    for (int64_t k = k0; k < k1; ++k) {
      __m512 w[GS];
      for (int g = 0; g < GS; ++g) w[g] = L::load(groups[g], k);
      if (ahead != 0 && (k * L::kBytes) % 64 == 0)
        for (int g = 0; g < GS; ++g) _mm_prefetch(reinterpret_cast<const char*>(groups[g] + (k + ahead) * L::kBytes), _MM_HINT_T0);
      for (int c = 0; c < RX; ++c) {
        const __m512 xb = _mm512_set1_ps(x[c][k]);
        for (int g = 0; g < GS; ++g) s[g][c] = _mm512_fmadd_ps(w[g], xb, s[g][c]);
      }
    }
    for (int c = 0; c < RX; ++c)
      for (int g = 0; g < GS; ++g) _mm512_storeu_ps(acc.out + c * acc.out_stride + g * kPackRows, s[g][c]);
  }
};

// ------------------------------------------------------- Q8x16 / Q4x16 weights x Q8 activations

inline int32_t load_i32(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

template <bool Q4>
struct Q8Kernel {
  static constexpr int kGroups = 2, kRows = 6, kGroupsNarrow = 4;
  static constexpr int64_t kChunk = 256;  // 8 blocks

  template <int GS, int RX>
  static void tile(const Job& job, const uint8_t* const* groups, int row, int64_t k0, int64_t k1, const TileAcc& acc) {
    const MatMulArgs& a = *job.args;
    constexpr size_t kBlock = Q4 ? 32 + 4 * 64 : 32 + 8 * 64;
    const int8_t* xq[RX];
    const float* xd[RX];
    const int32_t* xs[RX];
    for (int c = 0; c < RX; ++c) {
      const uint8_t* xr = a.x + static_cast<size_t>(row + c) * a.x_stride;
      xq[c] = q8_values(xr);
      xd[c] = q8_scales(xr, a.K);
      xs[c] = q8_block_sums(xr, a.K);
    }
    __m512 s[GS][RX];
    for (int c = 0; c < RX; ++c)
      for (int g = 0; g < GS; ++g) s[g][c] = acc.first ? _mm512_setzero_ps() : _mm512_load_ps(acc.in + (c * GS + g) * kPackRows);
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    for (int64_t b = k0 / 32; b < k1 / 32; ++b) {
      // Stored values are true values + offset: start each sum at -offset * sum(x), exactly.
      __m512i is[GS][RX];
      for (int c = 0; c < RX; ++c) {
        const __m512i start = _mm512_set1_epi32(-job.offset * xs[c][b]);
        for (int g = 0; g < GS; ++g) is[g][c] = start;
      }
      const int8_t* xb[RX];
      for (int c = 0; c < RX; ++c) xb[c] = xq[c] + 32 * b;
      if constexpr (Q4) {
        for (int p = 0; p < 4; ++p) {
          __m512i lo[GS], hi[GS];
          for (int g = 0; g < GS; ++g) {
            const __m512i raw = _mm512_loadu_si512(groups[g] + static_cast<size_t>(b) * kBlock + 32 + 64 * p);
            lo[g] = _mm512_and_si512(raw, low4);
            hi[g] = _mm512_and_si512(_mm512_srli_epi16(raw, 4), low4);
          }
          for (int c = 0; c < RX; ++c) {
            const __m512i xl = _mm512_set1_epi32(load_i32(xb[c] + 4 * p));
            const __m512i xh = _mm512_set1_epi32(load_i32(xb[c] + 16 + 4 * p));
            for (int g = 0; g < GS; ++g) {
              is[g][c] = _mm512_dpbusd_epi32(is[g][c], lo[g], xl);
              is[g][c] = _mm512_dpbusd_epi32(is[g][c], hi[g], xh);
            }
          }
        }
      } else {
        for (int i = 0; i < 8; ++i) {
          __m512i w[GS];
          for (int g = 0; g < GS; ++g)
            w[g] = _mm512_loadu_si512(groups[g] + static_cast<size_t>(b) * kBlock + 32 + 64 * i);
          for (int c = 0; c < RX; ++c) {
            const __m512i xv = _mm512_set1_epi32(load_i32(xb[c] + 4 * i));
            for (int g = 0; g < GS; ++g) is[g][c] = _mm512_dpbusd_epi32(is[g][c], w[g], xv);
          }
        }
      }
      for (int g = 0; g < GS; ++g) {
        const __m512 dw = _mm512_cvtph_ps(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(groups[g] + static_cast<size_t>(b) * kBlock)));
        for (int c = 0; c < RX; ++c)
          s[g][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is[g][c]), _mm512_mul_ps(dw, _mm512_set1_ps(xd[c][b])), s[g][c]);
      }
    }
    for (int c = 0; c < RX; ++c)
      for (int g = 0; g < GS; ++g) _mm512_storeu_ps(acc.out + c * acc.out_stride + g * kPackRows, s[g][c]);
  }
};

// A slice of at least this many output rows (and K elements) is streamed from memory rather than
// cache-resident (~1 MB of F32 per thread): the wide float tiles. For F16/BF16 only up to 4 rows:
// with more, the conversions each extra tile of rows repeats cost more than the streams gain
// (110M F16 forward of 8 tokens: 7.0-7.2 ms with 4 x 4 tiles, 7.7-7.8 with 8 x 2).
constexpr int64_t kWideRows = 1024;

template <class L>
void float_matmul(const MatMulArgs& args, int64_t j0, int64_t j1) {
  if ((j1 - j0) * args.K >= kWideRows * 256 && (L::kBytes == 64 || args.n <= 4))
    packed_matmul<FloatKernel<L, 8>>(args, j0, j1);
  else
    packed_matmul<FloatKernel<L, 4>>(args, j0, j1);
}

void matmul_avx512(const MatMulArgs& args, int64_t j0, int64_t j1) {
  switch (args.type) {
    case TensorType::Q4_K: case TensorType::Q5_K: case TensorType::Q6_K: return detail::matmul_avx2(args, j0, j1);
    case TensorType::F16: return float_matmul<LoadF16x16>(args, j0, j1);
    case TensorType::BF16: return float_matmul<LoadBF16x16>(args, j0, j1);
    case TensorType::Q8_0: case TensorType::Q5_0: return packed_matmul<Q8Kernel<false>>(args, j0, j1);
    case TensorType::Q4_0: return packed_matmul<Q8Kernel<true>>(args, j0, j1);
    default: return float_matmul<LoadF32x16>(args, j0, j1);  // F32, and dequantized types
  }
}

}  // namespace

const KernelTable* avx512_kernels() {
  using namespace detail;
  static const KernelTable table{"avx512", true,      quantize_q8_avx2, quantize_q8k_avx2, matmul_avx512,
                                 dot_avx2, axpy_avx2, attend_avx512,    attend_many_avx512, swiglu_avx2,
                                 gelu_gate_avx2, soft_cap_avx2, scan_logits_avx512, keep_at_least_avx512, sum_exp_at_avx2,
                                 attend_scores_avx512, attend_finish_avx512};
  return cpu_features().avx512 && cpu_features().avx2 ? &table : nullptr;
}

}  // namespace aded::kernels
