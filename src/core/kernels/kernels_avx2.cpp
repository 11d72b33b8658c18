// AVX2 + FMA + F16C kernels. Each output element follows the canonical operation order of
// kernels.h exactly; the speed comes from tiling: a tile of weight rows is loaded (and converted or
// unpacked) once and multiplied with a tile of activation rows held in registers, so a forward of
// n tokens reads each weight once.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "core/cpu_features.h"
#include "core/kernels/kernels.h"
#include "core/quant/blocks.h"
#include "core/quant/quant.h"

namespace aded::kernels {

namespace {

inline float hsum8(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v);
  const __m128 hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_add_ps(lo, hi);                       // a0+a4, a1+a5, a2+a6, a3+a7
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));    // (a0+a4)+(a2+a6), (a1+a5)+(a3+a7)
  lo = _mm_add_ss(lo, _mm_shuffle_ps(lo, lo, 1));
  return _mm_cvtss_f32(lo);
}

// ---------------------------------------------------------------- float weights (F32, F16, BF16)

struct LoadF32 {
  static __m256 load(const uint8_t* row, int64_t k) {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + k);
  }
  static float scalar(const uint8_t* row, int64_t k) {
    float v;
    std::memcpy(&v, row + 4 * k, 4);
    return v;
  }
};
struct LoadF16 {
  static __m256 load(const uint8_t* row, int64_t k) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * k)));
  }
  static float scalar(const uint8_t* row, int64_t k) {
    uint16_t h;
    std::memcpy(&h, row + 2 * k, 2);
    return _cvtsh_ss(h);
  }
};
struct LoadBF16 {
  static __m256 load(const uint8_t* row, int64_t k) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * k));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
  static float scalar(const uint8_t* row, int64_t k) {
    uint16_t h;
    std::memcpy(&h, row + 2 * k, 2);
    const uint32_t bits = static_cast<uint32_t>(h) << 16;
    float v;
    std::memcpy(&v, &bits, 4);
    return v;
  }
};

// RW weight rows x RX activation rows, one accumulator per pair.
template <typename L, int RW, int RX>
inline void float_tile(const uint8_t* const* w, const float* const* x, int64_t K, float* out[RX],
                       int64_t j) {
  __m256 acc[RW][RX];
  for (int a = 0; a < RW; ++a)
    for (int b = 0; b < RX; ++b) acc[a][b] = _mm256_setzero_ps();
  const int64_t K8 = K / 8 * 8;
  for (int64_t k = 0; k < K8; k += 8) {
    __m256 xv[RX];
    for (int b = 0; b < RX; ++b) xv[b] = _mm256_loadu_ps(x[b] + k);
    for (int a = 0; a < RW; ++a) {
      const __m256 wv = L::load(w[a], k);
      for (int b = 0; b < RX; ++b) acc[a][b] = _mm256_fmadd_ps(wv, xv[b], acc[a][b]);
    }
  }
  for (int a = 0; a < RW; ++a) {
    for (int b = 0; b < RX; ++b) {
      float lanes[8];
      _mm256_storeu_ps(lanes, acc[a][b]);
      for (int64_t k = K8; k < K; ++k) lanes[k % 8] = std::fma(L::scalar(w[a], k), x[b][k], lanes[k % 8]);
      out[b][j + a] = hsum8(_mm256_loadu_ps(lanes));
    }
  }
}

template <typename L, int RW, int RX>
void float_rows(const MatMulArgs& args, const uint8_t* w_base, size_t w_stride, int64_t j, int r0,
                int64_t jcount) {
  // jcount weight rows handled RW at a time by the caller; this helper does one RW x RX tile.
  (void)jcount;
  const uint8_t* w[RW];
  for (int a = 0; a < RW; ++a) w[a] = w_base + static_cast<size_t>(j + a) * w_stride;
  const float* x[RX];
  float* out[RX];
  for (int b = 0; b < RX; ++b) {
    x[b] = reinterpret_cast<const float*>(args.x + static_cast<size_t>(r0 + b) * args.x_stride);
    out[b] = args.y + static_cast<size_t>(r0 + b) * args.y_stride;
  }
  float_tile<L, RW, RX>(w, x, args.K, out, j);
}

// Dispatch over the row remainder: RX activation rows, all weight rows in [j0, j1).
template <typename L, int RX>
void float_weight_sweep(const MatMulArgs& args, const uint8_t* w_base, size_t w_stride, int64_t j0,
                        int64_t j1, int r0) {
  constexpr int RW = RX == 1 ? 8 : 4;
  int64_t j = j0;
  for (; j + RW <= j1; j += RW) float_rows<L, RW, RX>(args, w_base, w_stride, j, r0, RW);
  for (; j < j1; ++j) float_rows<L, 1, RX>(args, w_base, w_stride, j, r0, 1);
}

template <typename L>
void float_matmul(const MatMulArgs& args, const uint8_t* w_base, size_t w_stride, int64_t j0, int64_t j1) {
  // Activation rows in chunks so that a chunk stays in L2 while the weight rows stream past.
  constexpr int kChunk = 48;
  for (int c0 = 0; c0 < args.n; c0 += kChunk) {
    const int c1 = std::min(args.n, c0 + kChunk);
    // Within the chunk: weight tile outer, activation tiles of 3 inner (weights stay in L1).
    constexpr int64_t kWeightBlock = 16;
    for (int64_t jb = j0; jb < j1; jb += kWeightBlock) {
      const int64_t je = std::min(j1, jb + kWeightBlock);
      int r = c0;
      for (; r + 3 <= c1; r += 3) float_weight_sweep<L, 3>(args, w_base, w_stride, jb, je, r);
      if (c1 - r == 2) float_weight_sweep<L, 2>(args, w_base, w_stride, jb, je, r);
      if (c1 - r == 1) float_weight_sweep<L, 1>(args, w_base, w_stride, jb, je, r);
    }
  }
}

// ------------------------------------------------- symmetric 32-blocks (Q8_0, Q4_0, Q5_0) x Q8

// The 32 weights of block b in element order: signed for Q8_0; for Q4_0/Q5_0 the stored
// unsigned values q, whose true value is q - offset (kOffsetShift = log2 offset).
template <TensorType T>
inline __m256i unpack(const uint8_t* row, int64_t b);
template <TensorType T>
constexpr int kOffsetShift = -1;  // signed weights
template <>
constexpr int kOffsetShift<TensorType::Q4_0> = 3;
template <>
constexpr int kOffsetShift<TensorType::Q5_0> = 4;

template <>
inline __m256i unpack<TensorType::Q8_0>(const uint8_t* row, int64_t b) {
  const auto* blk = reinterpret_cast<const quant::BlockQ8_0*>(row) + b;
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk->qs));
}

// Low nibbles are elements 0..15, high nibbles 16..31: the same 16 bytes in both lanes, the upper
// lane shifted right by 4.
inline __m256i nibbles(const uint8_t* qs) {
  const __m256i both = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs)));
  return _mm256_and_si256(_mm256_srlv_epi64(both, _mm256_set_epi64x(4, 4, 0, 0)), _mm256_set1_epi8(0x0F));
}

template <>
inline __m256i unpack<TensorType::Q4_0>(const uint8_t* row, int64_t b) {
  return nibbles((reinterpret_cast<const quant::BlockQ4_0*>(row) + b)->qs);
}

// 0xFF in byte i when bit i of bits is set.
inline __m256i expand_bits(uint32_t bits) {
  const __m256i shuffle = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                            0x0101010101010101, 0x0000000000000000);
  __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)), shuffle);
  bytes = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
  return _mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1));
}

template <>
inline __m256i unpack<TensorType::Q5_0>(const uint8_t* row, int64_t b) {
  const auto* blk = reinterpret_cast<const quant::BlockQ5_0*>(row) + b;
  uint32_t qh;
  std::memcpy(&qh, blk->qh, 4);
  const __m256i high = _mm256_and_si256(expand_bits(qh), _mm256_set1_epi8(0x10));
  return _mm256_or_si256(nibbles(blk->qs), high);
}

template <TensorType T>
inline float block_scale(const uint8_t* row, int64_t b) {
  constexpr int kBytes = T == TensorType::Q8_0 ? 34 : T == TensorType::Q4_0 ? 18 : 22;
  uint16_t h;
  std::memcpy(&h, row + b * kBytes, 2);
  return _cvtsh_ss(h);
}

template <TensorType T, int RW, int RX>
inline void q8_tile(const uint8_t* const* w, const uint8_t* const* x, int64_t K, float* out[RX], int64_t j) {
  constexpr bool kSigned = kOffsetShift<T> < 0;
  __m256 acc[RW][RX];
  for (int a = 0; a < RW; ++a)
    for (int c = 0; c < RX; ++c) acc[a][c] = _mm256_setzero_ps();
  const __m256i ones = _mm256_set1_epi16(1);
  const float* xd[RX];
  const int32_t* xs[RX];
  for (int c = 0; c < RX; ++c) {
    xd[c] = q8_scales(x[c], K);
    xs[c] = q8_lane_sums(x[c], K);
  }
  for (int64_t b = 0; b < K / 32; ++b) {
    __m256i wv[RW], wabs[RW];
    float dw[RW];
    for (int a = 0; a < RW; ++a) {
      wv[a] = unpack<T>(w[a], b);
      if constexpr (kSigned) wabs[a] = _mm256_abs_epi8(wv[a]);
      dw[a] = block_scale<T>(w[a], b);
    }
    for (int c = 0; c < RX; ++c) {
      const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q8_values(x[c]) + 32 * b));
      const float dx = xd[c][b];
      __m256i offset_sums = _mm256_setzero_si256();
      if constexpr (!kSigned)
        offset_sums = _mm256_slli_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(xs[c] + 8 * b)),
                                        kSigned ? 0 : kOffsetShift<T>);
      for (int a = 0; a < RW; ++a) {
        __m256i isum;
        if constexpr (kSigned) {
          isum = _mm256_madd_epi16(_mm256_maddubs_epi16(wabs[a], _mm256_sign_epi8(xv, wv[a])), ones);
        } else {  // sum (q - offset) x = sum q x - offset sum x, lane by lane, exactly
          isum = _mm256_sub_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(wv[a], xv), ones), offset_sums);
        }
        acc[a][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(dw[a] * dx), acc[a][c]);
      }
    }
  }
  for (int a = 0; a < RW; ++a)
    for (int c = 0; c < RX; ++c) out[c][j + a] = hsum8(acc[a][c]);
}

template <TensorType T, int RW, int RX>
void q8_rows(const MatMulArgs& args, int64_t j, int r0) {
  const uint8_t* w[RW];
  for (int a = 0; a < RW; ++a) w[a] = args.w + static_cast<size_t>(j + a) * args.w_stride;
  const uint8_t* x[RX];
  float* out[RX];
  for (int c = 0; c < RX; ++c) {
    x[c] = args.x + static_cast<size_t>(r0 + c) * args.x_stride;
    out[c] = args.y + static_cast<size_t>(r0 + c) * args.y_stride;
  }
  q8_tile<T, RW, RX>(w, x, args.K, out, j);
}

template <TensorType T, int RX>
void q8_weight_sweep(const MatMulArgs& args, int64_t j0, int64_t j1, int r0) {
  constexpr int RW = RX == 1 ? 4 : 2;
  int64_t j = j0;
  for (; j + RW <= j1; j += RW) q8_rows<T, RW, RX>(args, j, r0);
  for (; j < j1; ++j) q8_rows<T, 1, RX>(args, j, r0);
}

template <TensorType T>
void q8_matmul(const MatMulArgs& args, int64_t j0, int64_t j1) {
  constexpr int kChunk = 64;
  for (int c0 = 0; c0 < args.n; c0 += kChunk) {
    const int c1 = std::min(args.n, c0 + kChunk);
    constexpr int64_t kWeightBlock = 16;
    for (int64_t jb = j0; jb < j1; jb += kWeightBlock) {
      const int64_t je = std::min(j1, jb + kWeightBlock);
      int r = c0;
      for (; r + 4 <= c1; r += 4) q8_weight_sweep<T, 4>(args, jb, je, r);
      if (c1 - r == 3) q8_weight_sweep<T, 3>(args, jb, je, r);
      if (c1 - r == 2) q8_weight_sweep<T, 2>(args, jb, je, r);
      if (c1 - r == 1) q8_weight_sweep<T, 1>(args, jb, je, r);
    }
  }
}

// ----------------------------------------------------------- k-quants (Q4_K, Q5_K, Q6_K) x Q8K

inline __m256i load32(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// One weight row's super-block, decoded once: scales as int16 lanes for madd, the mins term's
// multipliers, and the float factors.
struct KSuper {
  const uint8_t* block;
  __m256i scale16[8];  // per sub-block j (Q6_K: low half lanes 0-3, high half lanes 4-7)
  __m256i mins16;      // [m0, m0, m1, m1, ..., m7, m7]
  float d, dmin;
};

template <TensorType T>
inline void decode_super(const uint8_t* row, int64_t s, KSuper& k) {
  if constexpr (T == TensorType::Q6_K) {
    const auto* blk = reinterpret_cast<const quant::BlockQ6_K*>(row) + s;
    k.block = reinterpret_cast<const uint8_t*>(blk);
    for (int j = 0; j < 8; ++j)
      k.scale16[j] = _mm256_set_m128i(_mm_set1_epi16(blk->scales[2 * j + 1]), _mm_set1_epi16(blk->scales[2 * j]));
    k.d = _cvtsh_ss(blk->d);
    k.dmin = 0;
  } else {
    using Block = std::conditional_t<T == TensorType::Q4_K, quant::BlockQ4_K, quant::BlockQ5_K>;
    const auto* blk = reinterpret_cast<const Block*>(row) + s;
    k.block = reinterpret_cast<const uint8_t*>(blk);
    // The eight 6-bit scales and mins, four at a time (the packing of quant::k_scale_min).
    uint32_t w[3];
    std::memcpy(w, blk->scales, 12);
    const uint32_t low6 = 0x3f3f3f3f, low4 = 0x0f0f0f0f, top2 = 0x03030303;
    alignas(16) uint32_t packed[4] = {w[0] & low6, (w[2] & low4) | (((w[0] >> 6) & top2) << 4),  // scales
                                      w[1] & low6, ((w[2] >> 4) & low4) | (((w[1] >> 6) & top2) << 4)};  // mins
    const auto* sc = reinterpret_cast<const uint8_t*>(packed);
    for (int j = 0; j < 8; ++j) k.scale16[j] = _mm256_set1_epi16(sc[j]);
    const __m256i m32 = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(packed + 2)));
    k.mins16 = _mm256_or_si256(m32, _mm256_slli_epi32(m32, 16));
    k.d = _cvtsh_ss(blk->d);
    k.dmin = _cvtsh_ss(blk->dmin);
  }
}

// The 32 values of sub-block j: unsigned for Q4_K/Q5_K; q - 32 for Q6_K (with |q - 32| in *abs).
template <TensorType T>
inline __m256i sub_block(const uint8_t* block, int j, __m256i* abs) {
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  if constexpr (T == TensorType::Q6_K) {
    const auto* blk = reinterpret_cast<const quant::BlockQ6_K*>(block);
    const int n = j / 4, kk = j % 4;
    const __m256i low = _mm256_and_si256(_mm256_srl_epi16(load32(blk->ql + 64 * n + 32 * (kk & 1)), _mm_cvtsi32_si128(4 * (kk >> 1))), low4);
    const __m256i high = _mm256_and_si256(_mm256_srl_epi16(load32(blk->qh + 32 * n), _mm_cvtsi32_si128(2 * kk)), _mm256_set1_epi8(3));
    const __m256i v = _mm256_sub_epi8(_mm256_or_si256(low, _mm256_slli_epi16(high, 4)), _mm256_set1_epi8(32));
    *abs = _mm256_abs_epi8(v);
    return v;
  } else if constexpr (T == TensorType::Q4_K) {
    const auto* blk = reinterpret_cast<const quant::BlockQ4_K*>(block);
    return _mm256_and_si256(_mm256_srl_epi16(load32(blk->qs + 32 * (j / 2)), _mm_cvtsi32_si128(4 * (j & 1))), low4);
  } else {
    const auto* blk = reinterpret_cast<const quant::BlockQ5_K*>(block);
    const __m256i low = _mm256_and_si256(_mm256_srl_epi16(load32(blk->qs + 32 * (j / 2)), _mm_cvtsi32_si128(4 * (j & 1))), low4);
    const __m256i bit = _mm256_and_si256(_mm256_srl_epi16(load32(blk->qh), _mm_cvtsi32_si128(j)), _mm256_set1_epi8(1));
    return _mm256_or_si256(low, _mm256_slli_epi16(bit, 4));
  }
}

template <TensorType T, int RW, int RX>
inline void k_tile(const uint8_t* const* w, const uint8_t* const* x, int64_t K, float* out[RX], int64_t j) {
  __m256 acc[RW][RX];
  for (int a = 0; a < RW; ++a)
    for (int c = 0; c < RX; ++c) acc[a][c] = _mm256_setzero_ps();
  for (int64_t s = 0; s < K / 256; ++s) {
    KSuper ks[RW];
    for (int a = 0; a < RW; ++a) decode_super<T>(w[a], s, ks[a]);
    __m256i isum[RW][RX];
    for (int a = 0; a < RW; ++a)
      for (int c = 0; c < RX; ++c) isum[a][c] = _mm256_setzero_si256();
    for (int sb = 0; sb < 8; ++sb) {
      __m256i q[RW], q_abs[RW];
      for (int a = 0; a < RW; ++a) q[a] = sub_block<T>(ks[a].block, sb, &q_abs[a]);
      for (int c = 0; c < RX; ++c) {
        const __m256i xv = load32(q8_values(x[c]) + 256 * s + 32 * sb);
        for (int a = 0; a < RW; ++a) {
          const __m256i prod = T == TensorType::Q6_K ? _mm256_maddubs_epi16(q_abs[a], _mm256_sign_epi8(xv, q[a]))
                                                     : _mm256_maddubs_epi16(q[a], xv);
          isum[a][c] = _mm256_add_epi32(isum[a][c], _mm256_madd_epi16(prod, ks[a].scale16[sb]));
        }
      }
    }
    for (int c = 0; c < RX; ++c) {
      const float dx = q8k_scales(x[c], K)[s];
      const __m256i sums16 = load32(q8k_sums16(x[c], K) + 16 * s);
      for (int a = 0; a < RW; ++a) {
        acc[a][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[a][c]), _mm256_set1_ps(ks[a].d * dx), acc[a][c]);
        if constexpr (T != TensorType::Q6_K) {
          const __m256i mins = _mm256_madd_epi16(sums16, ks[a].mins16);
          acc[a][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mins), _mm256_set1_ps(-(ks[a].dmin * dx)), acc[a][c]);
        }
      }
    }
  }
  for (int a = 0; a < RW; ++a)
    for (int c = 0; c < RX; ++c) out[c][j + a] = hsum8(acc[a][c]);
}

template <TensorType T, int RW, int RX>
void k_rows(const MatMulArgs& args, int64_t j, int r0) {
  const uint8_t* w[RW];
  for (int a = 0; a < RW; ++a) w[a] = args.w + static_cast<size_t>(j + a) * args.w_stride;
  const uint8_t* x[RX];
  float* out[RX];
  for (int c = 0; c < RX; ++c) {
    x[c] = args.x + static_cast<size_t>(r0 + c) * args.x_stride;
    out[c] = args.y + static_cast<size_t>(r0 + c) * args.y_stride;
  }
  k_tile<T, RW, RX>(w, x, args.K, out, j);
}

template <TensorType T, int RX>
void k_weight_sweep(const MatMulArgs& args, int64_t j0, int64_t j1, int r0) {
  constexpr int RW = RX == 1 ? 2 : 2;
  int64_t j = j0;
  for (; j + RW <= j1; j += RW) k_rows<T, RW, RX>(args, j, r0);
  for (; j < j1; ++j) k_rows<T, 1, RX>(args, j, r0);
}

template <TensorType T>
void k_matmul(const MatMulArgs& args, int64_t j0, int64_t j1) {
  constexpr int kChunk = 64;
  for (int c0 = 0; c0 < args.n; c0 += kChunk) {
    const int c1 = std::min(args.n, c0 + kChunk);
    constexpr int64_t kWeightBlock = 16;
    for (int64_t jb = j0; jb < j1; jb += kWeightBlock) {
      const int64_t je = std::min(j1, jb + kWeightBlock);
      int r = c0;
      for (; r + 3 <= c1; r += 3) k_weight_sweep<T, 3>(args, jb, je, r);
      if (c1 - r == 2) k_weight_sweep<T, 2>(args, jb, je, r);
      if (c1 - r == 1) k_weight_sweep<T, 1>(args, jb, je, r);
    }
  }
}

// ------------------------------------------------------- other types: dequantize, then float rule

void dequant_matmul(const MatMulArgs& args, int64_t j0, int64_t j1) {
  constexpr int64_t kRows = 8;
  thread_local std::vector<float> buffer;
  buffer.resize(static_cast<size_t>(kRows * args.K));
  const size_t stride = static_cast<size_t>(args.K) * 4;
  for (int64_t jb = j0; jb < j1; jb += kRows) {
    const int64_t je = std::min(j1, jb + kRows);
    for (int64_t j = jb; j < je; ++j)
      quant::dequantize_row(args.type, args.w + static_cast<size_t>(j) * args.w_stride,
                            buffer.data() + (j - jb) * args.K, args.K);
    // Rows of the buffer are indexed from jb: shift the output pointer so column jb lands right.
    MatMulArgs shifted = args;
    shifted.y = args.y + jb;
    float_matmul<LoadF32>(shifted, reinterpret_cast<const uint8_t*>(buffer.data()), stride, 0, je - jb);
  }
}

void matmul_avx2(const MatMulArgs& args, int64_t j0, int64_t j1) {
  switch (args.type) {
    case TensorType::F32: return float_matmul<LoadF32>(args, args.w, args.w_stride, j0, j1);
    case TensorType::F16: return float_matmul<LoadF16>(args, args.w, args.w_stride, j0, j1);
    case TensorType::BF16: return float_matmul<LoadBF16>(args, args.w, args.w_stride, j0, j1);
    case TensorType::Q8_0: return q8_matmul<TensorType::Q8_0>(args, j0, j1);
    case TensorType::Q4_0: return q8_matmul<TensorType::Q4_0>(args, j0, j1);
    case TensorType::Q5_0: return q8_matmul<TensorType::Q5_0>(args, j0, j1);
    case TensorType::Q4_K: return k_matmul<TensorType::Q4_K>(args, j0, j1);
    case TensorType::Q5_K: return k_matmul<TensorType::Q5_K>(args, j0, j1);
    case TensorType::Q6_K: return k_matmul<TensorType::Q6_K>(args, j0, j1);
    default: return dequant_matmul(args, j0, j1);
  }
}

// ------------------------------------------------------------------------------ vector helpers

void quantize_q8_avx2(const float* x, size_t ldx, int n, int64_t K, uint8_t* out, size_t stride) {
  const __m256 sign_mask = _mm256_set1_ps(-0.0f);
  for (int r = 0; r < n; ++r) {
    const float* xr = x + static_cast<size_t>(r) * ldx;
    auto* q = reinterpret_cast<int8_t*>(out + static_cast<size_t>(r) * stride);
    auto* d = reinterpret_cast<float*>(out + static_cast<size_t>(r) * stride + K);
    auto* sums = reinterpret_cast<int32_t*>(out + static_cast<size_t>(r) * stride + K + K / 32 * 4);
    for (int64_t b = 0; b < K / 32; ++b) {
      __m256 v[4];
      __m256 m = _mm256_setzero_ps();
      for (int i = 0; i < 4; ++i) {
        v[i] = _mm256_loadu_ps(xr + 32 * b + 8 * i);
        m = _mm256_max_ps(m, _mm256_andnot_ps(sign_mask, v[i]));
      }
      __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
      m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
      m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
      const float amax = _mm_cvtss_f32(m4);
      d[b] = amax / 127.0f;
      const __m256 inv = _mm256_set1_ps(amax != 0 ? 127.0f / amax : 0.0f);
      __m256i i32[4];
      for (int i = 0; i < 4; ++i)
        i32[i] = _mm256_cvtps_epi32(
            _mm256_round_ps(_mm256_mul_ps(v[i], inv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
      // Pack 32 int32 -> 32 int8 and undo the lane interleaving of the pack instructions.
      const __m256i s01 = _mm256_packs_epi32(i32[0], i32[1]);
      const __m256i s23 = _mm256_packs_epi32(i32[2], i32[3]);
      __m256i b8 = _mm256_packs_epi16(s01, s23);
      b8 = _mm256_permutevar8x32_epi32(b8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + 32 * b), b8);
      // Lane sums: pairs of bytes (maddubs with ones), then pairs of pairs.
      const __m256i pairs = _mm256_maddubs_epi16(_mm256_set1_epi8(1), b8);
      const __m256i quads = _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(sums + 8 * b), quads);
    }
  }
}

float dot_avx2(const float* a, const float* b, int64_t n) {
  __m256 acc = _mm256_setzero_ps();
  const int64_t n8 = n / 8 * 8;
  for (int64_t k = 0; k < n8; k += 8)
    acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), _mm256_loadu_ps(b + k), acc);
  if (n8 == n) return hsum8(acc);
  float lanes[8];
  _mm256_storeu_ps(lanes, acc);
  for (int64_t k = n8; k < n; ++k) lanes[k % 8] = std::fma(a[k], b[k], lanes[k % 8]);
  return hsum8(_mm256_loadu_ps(lanes));
}

void axpy_avx2(float a, const float* x, float* y, int64_t n) {
  const __m256 av = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] = std::fma(a, x[i], y[i]);
}

}  // namespace

// Once per product and input, not per weight row: the portable version is fast enough.
void quantize_q8k_avx2(const float* x, size_t ldx, int n, int64_t K, uint8_t* out, size_t stride) {
  for (int r = 0; r < n; ++r) quantize_q8k_row_reference(x + static_cast<size_t>(r) * ldx, K, out + static_cast<size_t>(r) * stride);
}

const KernelTable* avx2_kernels() {
  static const KernelTable table{"avx2", quantize_q8_avx2, quantize_q8k_avx2, matmul_avx2, dot_avx2, axpy_avx2};
  return cpu_features().avx2 ? &table : nullptr;
}

}  // namespace aded::kernels
