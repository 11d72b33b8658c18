// AVX2 + FMA + F16C kernels. Each output element follows the canonical operation order of
// kernels.h exactly. Float and Q8 products run on packed weights (packing.h, a 16-row group as two
// 8-lane halves); the k-quants on the original layout, a tile of weight rows loaded once and
// multiplied with a tile of activation rows held in registers. Either way a forward of n tokens
// reads each weight once.
#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <type_traits>

#include "core/cpu_features.h"
#include "core/kernels/canonical_exp.h"
#include "core/kernels/exp_avx2.h"
#include "core/kernels/kernels.h"
#include "core/kernels/kv_load_avx2.h"
#include "core/kernels/packed_driver.h"
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

// ------------------------------------------ packed weights: float (F32, F16, BF16) and Q8x16/Q4x16

// A 16-row group is two 8-lane halves: half h holds rows 8h .. 8h + 7 of the group.
struct LoadF32x16 {
  static constexpr int64_t kChunk = 128;
  static __m256 load(const uint8_t* group, int64_t k, int h) {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(group + k * 64 + 32 * h));
  }
};
struct LoadF16x16 {
  static constexpr int64_t kChunk = 256;
  static __m256 load(const uint8_t* group, int64_t k, int h) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(group + k * 32 + 16 * h)));
  }
};
struct LoadBF16x16 {
  static constexpr int64_t kChunk = 256;
  static __m256 load(const uint8_t* group, int64_t k, int h) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(group + k * 32 + 16 * h));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(v), 16));
  }
};

template <class L>
struct FloatKernel {
  static constexpr int kGroups = 1, kRows = 4, kGroupsNarrow = 2;
  static constexpr int64_t kChunk = L::kChunk;

  template <int GS, int RX>
  static void tile(const Job& job, const uint8_t* const* groups, int row, int64_t k0, int64_t k1, const TileAcc& acc) {
    const MatMulArgs& a = *job.args;
    const float* x[RX];
    for (int c = 0; c < RX; ++c) x[c] = reinterpret_cast<const float*>(a.x + static_cast<size_t>(row + c) * a.x_stride);
    __m256 s[2 * GS][RX];
    for (int c = 0; c < RX; ++c)
      for (int v = 0; v < 2 * GS; ++v) s[v][c] = acc.first ? _mm256_setzero_ps() : _mm256_load_ps(acc.in + c * GS * kPackRows + 8 * v);
    for (int64_t k = k0; k < k1; ++k) {
      __m256 w[2 * GS];
      for (int v = 0; v < 2 * GS; ++v) w[v] = L::load(groups[v / 2], k, v % 2);
      for (int c = 0; c < RX; ++c) {
        const __m256 xb = _mm256_broadcast_ss(x[c] + k);
        for (int v = 0; v < 2 * GS; ++v) s[v][c] = _mm256_fmadd_ps(w[v], xb, s[v][c]);
      }
    }
    for (int c = 0; c < RX; ++c)
      for (int v = 0; v < 2 * GS; ++v) _mm256_storeu_ps(acc.out + c * acc.out_stride + 8 * v, s[v][c]);
  }
};

inline int32_t load_i32(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Exact int32 sums of 4 products per lane. Q8_0's stored values (w + 128) are turned back into
// signed w and multiplied as |w| * (x sign w), which cannot saturate the int16 pairs of
// maddubs; Q5_0 (0..31) and Q4_0 (0..15) values multiply unsigned directly.
template <bool Q4>
struct Q8Kernel {
  static constexpr int kGroups = 1, kRows = 2, kGroupsNarrow = 1;
  static constexpr int64_t kChunk = 256;

  template <int GS, int RX>
  static void tile(const Job& job, const uint8_t* const* groups, int row, int64_t k0, int64_t k1, const TileAcc& acc) {
    const MatMulArgs& a = *job.args;
    constexpr size_t kBlock = Q4 ? 32 + 4 * 64 : 32 + 8 * 64;
    const bool is_signed = !Q4 && job.offset == 128;
    const int offset = is_signed ? 0 : job.offset;
    const int8_t* xq[RX];
    const float* xd[RX];
    const int32_t* xs[RX];
    for (int c = 0; c < RX; ++c) {
      const uint8_t* xr = a.x + static_cast<size_t>(row + c) * a.x_stride;
      xq[c] = q8_values(xr);
      xd[c] = q8_scales(xr, a.K);
      xs[c] = q8_block_sums(xr, a.K);
    }
    constexpr int V = 2 * GS;
    __m256 s[V][RX];
    for (int c = 0; c < RX; ++c)
      for (int v = 0; v < V; ++v) s[v][c] = acc.first ? _mm256_setzero_ps() : _mm256_load_ps(acc.in + c * GS * kPackRows + 8 * v);
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
    for (int64_t b = k0 / 32; b < k1 / 32; ++b) {
      __m256i is[V][RX];
      for (int c = 0; c < RX; ++c) {
        const __m256i start = _mm256_set1_epi32(-offset * xs[c][b]);
        for (int v = 0; v < V; ++v) is[v][c] = start;
      }
      const auto at = [&](int v, int chunk) {
        return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(groups[v / 2] + static_cast<size_t>(b) * kBlock + 32 +
                                                                    64 * chunk + 32 * (v % 2)));
      };
      const auto add = [&](__m256i& sum, __m256i prod) { sum = _mm256_add_epi32(sum, _mm256_madd_epi16(prod, ones)); };
      if constexpr (Q4) {
        for (int p = 0; p < 4; ++p) {
          __m256i lo[V], hi[V];
          for (int v = 0; v < V; ++v) {
            const __m256i raw = at(v, p);
            lo[v] = _mm256_and_si256(raw, low4);
            hi[v] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4);
          }
          for (int c = 0; c < RX; ++c) {
            const __m256i xl = _mm256_set1_epi32(load_i32(xq[c] + 32 * b + 4 * p));
            const __m256i xh = _mm256_set1_epi32(load_i32(xq[c] + 32 * b + 16 + 4 * p));
            for (int v = 0; v < V; ++v) {
              add(is[v][c], _mm256_maddubs_epi16(lo[v], xl));
              add(is[v][c], _mm256_maddubs_epi16(hi[v], xh));
            }
          }
        }
      } else {
        for (int i = 0; i < 8; ++i) {
          __m256i w[V], wabs[V];
          for (int v = 0; v < V; ++v) {
            w[v] = at(v, i);
            if (is_signed) {
              w[v] = _mm256_xor_si256(w[v], flip);
              wabs[v] = _mm256_abs_epi8(w[v]);
            }
          }
          for (int c = 0; c < RX; ++c) {
            const __m256i xv = _mm256_set1_epi32(load_i32(xq[c] + 32 * b + 4 * i));
            for (int v = 0; v < V; ++v)
              add(is[v][c], is_signed ? _mm256_maddubs_epi16(wabs[v], _mm256_sign_epi8(xv, w[v]))
                                      : _mm256_maddubs_epi16(w[v], xv));
          }
        }
      }
      for (int v = 0; v < V; ++v) {
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(
            reinterpret_cast<const __m128i*>(groups[v / 2] + static_cast<size_t>(b) * kBlock + 16 * (v % 2))));
        for (int c = 0; c < RX; ++c)
          s[v][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(is[v][c]), _mm256_mul_ps(dw, _mm256_set1_ps(xd[c][b])), s[v][c]);
      }
    }
    for (int c = 0; c < RX; ++c)
      for (int v = 0; v < V; ++v) _mm256_storeu_ps(acc.out + c * acc.out_stride + 8 * v, s[v][c]);
  }
};

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
    const int c1 = (args.n < c0 + kChunk ? args.n : c0 + kChunk);
    constexpr int64_t kWeightBlock = 16;
    for (int64_t jb = j0; jb < j1; jb += kWeightBlock) {
      const int64_t je = min64(j1, jb + kWeightBlock);
      int r = c0;
      for (; r + 3 <= c1; r += 3) k_weight_sweep<T, 3>(args, jb, je, r);
      if (c1 - r == 2) k_weight_sweep<T, 2>(args, jb, je, r);
      if (c1 - r == 1) k_weight_sweep<T, 1>(args, jb, je, r);
    }
  }
}

void matmul_avx2_impl(const MatMulArgs& args, int64_t j0, int64_t j1) {
  switch (args.type) {
    case TensorType::Q4_K: return k_matmul<TensorType::Q4_K>(args, j0, j1);
    case TensorType::Q5_K: return k_matmul<TensorType::Q5_K>(args, j0, j1);
    case TensorType::Q6_K: return k_matmul<TensorType::Q6_K>(args, j0, j1);
    case TensorType::F16: return packed_matmul<FloatKernel<LoadF16x16>>(args, j0, j1);
    case TensorType::BF16: return packed_matmul<FloatKernel<LoadBF16x16>>(args, j0, j1);
    case TensorType::Q8_0: case TensorType::Q5_0: return packed_matmul<Q8Kernel<false>>(args, j0, j1);
    case TensorType::Q4_0: return packed_matmul<Q8Kernel<true>>(args, j0, j1);
    default: return packed_matmul<FloatKernel<LoadF32x16>>(args, j0, j1);  // F32, and dequantized types
  }
}

}  // namespace

// ------------------------------------------------------------------------------ vector helpers

namespace detail {

void matmul_avx2(const MatMulArgs& args, int64_t j0, int64_t j1) { matmul_avx2_impl(args, j0, j1); }

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
      // Block sum: pairs of bytes (maddubs with ones), pairs of pairs, then across the lanes.
      const __m256i pairs = _mm256_maddubs_epi16(_mm256_set1_epi8(1), b8);
      const __m256i quads = _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
      __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(quads), _mm256_extracti128_si256(quads, 1));
      s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
      s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
      sums[b] = _mm_cvtsi128_si32(s4);
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

}  // namespace detail

namespace {

// out[8c0 .. 8c0 + 8CN) += p_t v_t for the keys t in [t0, t1), in order, with the CN vectors in
// registers; from 0 when t0 is the query's first key, else continuing the values out holds.
template <TensorType V, int CN>
void accumulate_values(const AttentionArgs& a, size_t t0, size_t t1, float sum, int c0, bool prefetch) {
  const size_t prefix = static_cast<size_t>(a.prefix);
  __m256 o[CN];
  const bool fresh = t0 == static_cast<size_t>(a.first);
  for (int c = 0; c < CN; ++c) o[c] = fresh ? _mm256_setzero_ps() : _mm256_loadu_ps(a.out + 8 * (c0 + c));
  for (size_t t = t0; t < t1; ++t) {
    const size_t cell = t < prefix ? t : static_cast<size_t>(a.cells[t - prefix]);
    const size_t v = cell * a.kv_stride + a.offset + 8 * static_cast<size_t>(c0);
    if (prefetch && (t - t0) % 8 == 0 && t + kPrefetchCells < prefix)
      prefetch_kv<V>(a.v, v + kPrefetchCells * a.kv_stride, static_cast<int>(7 * a.kv_stride) + 8 * CN);
    const __m256 p = _mm256_set1_ps(a.scores[t] / sum);
    for (int c = 0; c < CN; ++c) o[c] = _mm256_fmadd_ps(p, load_kv8<V>(a.v, v + 8 * static_cast<size_t>(c)), o[c]);
  }
  for (int c = 0; c < CN; ++c) _mm256_storeu_ps(a.out + 8 * (c0 + c), o[c]);
}

// accumulate_values for two queries over keys [t0, t1) of the shared prefix, which both see: each
// value slice is loaded (and converted) once for both; per query the same chain of FMAs.
template <TensorType V, int CN>
void accumulate_values_pair(const AttentionArgs& a, const AttentionArgs& b, size_t t0, size_t t1, float sa, float sb,
                            int c0, bool prefetch) {
  const size_t prefix = static_cast<size_t>(a.prefix), stride = a.kv_stride;
  __m256 oa[CN], ob[CN];
  const bool fresh_a = t0 == static_cast<size_t>(a.first), fresh_b = t0 == static_cast<size_t>(b.first);
  for (int c = 0; c < CN; ++c) {
    oa[c] = fresh_a ? _mm256_setzero_ps() : _mm256_loadu_ps(a.out + 8 * (c0 + c));
    ob[c] = fresh_b ? _mm256_setzero_ps() : _mm256_loadu_ps(b.out + 8 * (c0 + c));
  }
  for (size_t t = t0; t < t1; ++t) {
    const size_t v = t * stride + a.offset + 8 * static_cast<size_t>(c0);
    if (prefetch && (t - t0) % 8 == 0 && t + kPrefetchCells < prefix)
      prefetch_kv<V>(a.v, v + kPrefetchCells * stride, static_cast<int>(7 * stride) + 8 * CN);
    const __m256 pa = _mm256_set1_ps(a.scores[t] / sa), pb = _mm256_set1_ps(b.scores[t] / sb);
    for (int c = 0; c < CN; ++c) {
      const __m256 x = load_kv8<V>(a.v, v + 8 * static_cast<size_t>(c));
      oa[c] = _mm256_fmadd_ps(pa, x, oa[c]);
      ob[c] = _mm256_fmadd_ps(pb, x, ob[c]);
    }
  }
  for (int c = 0; c < CN; ++c) {
    _mm256_storeu_ps(a.out + 8 * (c0 + c), oa[c]);
    _mm256_storeu_ps(b.out + 8 * (c0 + c), ob[c]);
  }
}

template <TensorType V>
void accumulate_all_values(const AttentionArgs& a, size_t t0, size_t t1, float sum, bool prefetch) {
  const int D = a.head_dim;
  for (int c0 = 0; c0 < D / 8; c0 += 8) {
    switch (D / 8 - c0 < 8 ? D / 8 - c0 : 8) {
      case 1: accumulate_values<V, 1>(a, t0, t1, sum, c0, prefetch); break;
      case 2: accumulate_values<V, 2>(a, t0, t1, sum, c0, prefetch); break;
      case 3: accumulate_values<V, 3>(a, t0, t1, sum, c0, prefetch); break;
      case 4: accumulate_values<V, 4>(a, t0, t1, sum, c0, prefetch); break;
      case 5: accumulate_values<V, 5>(a, t0, t1, sum, c0, prefetch); break;
      case 6: accumulate_values<V, 6>(a, t0, t1, sum, c0, prefetch); break;
      case 7: accumulate_values<V, 7>(a, t0, t1, sum, c0, prefetch); break;
      default: accumulate_values<V, 8>(a, t0, t1, sum, c0, prefetch); break;
    }
  }
}

// scores[t] = dot(q, k_t) / root for t in [t0, t1), four keys at a time (head_dim % 8 == 0).
template <TensorType K>
void score_keys(const AttentionArgs& a, size_t t0, size_t t1, float root, bool prefetch) {
  const int D = a.head_dim;
  const size_t prefix = static_cast<size_t>(a.prefix);
  const auto key = [&](size_t t) {
    return (t < prefix ? t : static_cast<size_t>(a.cells[t - prefix])) * a.kv_stride + a.offset;
  };
  size_t t = t0;
  for (; t + 4 <= t1; t += 4) {
    const size_t k[4] = {key(t), key(t + 1), key(t + 2), key(t + 3)};
    if (prefetch && (t - t0) % 8 == 0 && t + kPrefetchCells < prefix)
      prefetch_kv<K>(a.k, k[0] + kPrefetchCells * a.kv_stride, static_cast<int>(7 * a.kv_stride) + D);
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int d = 0; d < D; d += 8) {
      const __m256 q = _mm256_loadu_ps(a.q + d);
      for (int j = 0; j < 4; ++j) acc[j] = _mm256_fmadd_ps(q, load_kv8<K>(a.k, k[j] + static_cast<size_t>(d)), acc[j]);
    }
    for (int j = 0; j < 4; ++j) a.scores[t + j] = hsum8(acc[j]) / root;
  }
  for (; t < t1; ++t) {
    __m256 acc = _mm256_setzero_ps();
    for (int d = 0; d < D; d += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a.q + d), load_kv8<K>(a.k, key(t) + static_cast<size_t>(d)), acc);
    a.scores[t] = hsum8(acc) / root;
  }
}

// score_keys for Q queries over keys [t0, t1) of the shared prefix, which all of them see: each
// key's slice is loaded (and converted from F16 or Q8_0) once for the Q queries, two keys at a
// time; per query the same dot rule (1.1B Q4_0, one token at depth 4096, 2 threads: ms below).
template <TensorType K, int Q>
void score_keys_many(const AttentionArgs* const* q, size_t t0, size_t t1, float root, bool prefetch) {
  const AttentionArgs& a = *q[0];
  const int D = a.head_dim;
  const size_t stride = a.kv_stride, prefix = static_cast<size_t>(a.prefix);
  size_t t = t0;
  for (; t + 2 <= t1; t += 2) {
    const size_t k0 = t * stride + a.offset, k1 = k0 + stride;
    if (prefetch && (t - t0) % 8 == 0 && t + kPrefetchCells < prefix)
      prefetch_kv<K>(a.k, k0 + kPrefetchCells * stride, static_cast<int>(7 * stride) + D);
    __m256 acc0[Q], acc1[Q];
    for (int i = 0; i < Q; ++i) acc0[i] = acc1[i] = _mm256_setzero_ps();
    for (int d = 0; d < D; d += 8) {
      const __m256 x0 = load_kv8<K>(a.k, k0 + static_cast<size_t>(d)), x1 = load_kv8<K>(a.k, k1 + static_cast<size_t>(d));
      for (int i = 0; i < Q; ++i) {
        const __m256 qv = _mm256_loadu_ps(q[i]->q + d);
        acc0[i] = _mm256_fmadd_ps(qv, x0, acc0[i]);
        acc1[i] = _mm256_fmadd_ps(qv, x1, acc1[i]);
      }
    }
    for (int i = 0; i < Q; ++i) {
      q[i]->scores[t] = hsum8(acc0[i]) / root;
      q[i]->scores[t + 1] = hsum8(acc1[i]) / root;
    }
  }
  for (int i = 0; t < t1 && i < Q; ++i) score_keys<K>(*q[i], t, t1, root, false);
}

// The scores of the prefix's keys [t0, t1) for every query, from its first key: the queries that
// see the whole range four (or two) at a time.
template <TensorType K>
void score_prefix_block(const AttentionArgs* args, int count, size_t t0, size_t t1, float root) {
  const AttentionArgs* whole[kMaxAttentionQueries];
  int n_whole = 0;
  for (int i = 0; i < count; ++i) {
    const size_t from = std::max(t0, static_cast<size_t>(args[i].first));
    if (from == t0)
      whole[n_whole++] = &args[i];
    else if (from < t1)
      score_keys<K>(args[i], from, t1, root, false);
  }
  int i = 0;
  for (; i + 4 <= n_whole; i += 4) score_keys_many<K, 4>(whole + i, t0, t1, root, i == 0);
  for (; i + 2 <= n_whole; i += 2) score_keys_many<K, 2>(whole + i, t0, t1, root, i == 0);
  for (; i < n_whole; ++i) score_keys<K>(*whole[i], t0, t1, root, i == 0);
}

// The value sums over the prefix's keys [t0, t1) for every query, from its first key: the queries
// that see the whole range two at a time, four vectors of their heads at once.
template <TensorType V>
void value_prefix_block(const AttentionArgs* args, int count, size_t t0, size_t t1, const float* sums) {
  int whole[kMaxAttentionQueries];
  int n_whole = 0;
  for (int i = 0; i < count; ++i) {
    const size_t from = std::max(t0, static_cast<size_t>(args[i].first));
    if (from == t0)
      whole[n_whole++] = i;
    else if (from < t1)
      accumulate_all_values<V>(args[i], from, t1, sums[i], false);
  }
  const int vectors = args[0].head_dim / 8;
  int j = 0;
  for (; j + 2 <= n_whole; j += 2) {
    const AttentionArgs &a = args[whole[j]], &b = args[whole[j + 1]];
    const float sa = sums[whole[j]], sb = sums[whole[j + 1]];
    for (int c0 = 0; c0 < vectors; c0 += 4) {
      switch (vectors - c0 < 4 ? vectors - c0 : 4) {
        case 1: accumulate_values_pair<V, 1>(a, b, t0, t1, sa, sb, c0, j == 0); break;
        case 2: accumulate_values_pair<V, 2>(a, b, t0, t1, sa, sb, c0, j == 0); break;
        case 3: accumulate_values_pair<V, 3>(a, b, t0, t1, sa, sb, c0, j == 0); break;
        default: accumulate_values_pair<V, 4>(a, b, t0, t1, sa, sb, c0, j == 0); break;
      }
    }
  }
  for (; j < n_whole; ++j) accumulate_all_values<V>(args[whole[j]], t0, t1, sums[whole[j]], j == 0);
}

// The softmax weights of the keys [first, n_keys) in place: exp(s - max), and their sum (in key
// order).
float softmax_weights(const AttentionArgs& a, size_t n_keys) {
  const auto first = static_cast<size_t>(a.first);
  detail::soft_cap_avx2(a.scores + first, n_keys - first, a.softcap);
  // The maximum in any order (only its value matters; scores are never NaN for finite inputs).
  float max = -INFINITY;
  size_t t = first;
  __m256 m8 = _mm256_set1_ps(-INFINITY);
  for (; t + 8 <= n_keys; t += 8) m8 = _mm256_max_ps(m8, _mm256_loadu_ps(a.scores + t));
  float lanes[8];
  _mm256_storeu_ps(lanes, m8);
  for (float v : lanes) max = std::fmax(max, v);
  for (; t < n_keys; ++t) max = std::fmax(max, a.scores[t]);
  const __m256 m = _mm256_set1_ps(max);
  for (t = first; t + 8 <= n_keys; t += 8) _mm256_storeu_ps(a.scores + t, exp8(_mm256_sub_ps(_mm256_loadu_ps(a.scores + t), m)));
  for (; t < n_keys; ++t) a.scores[t] = canonical_exp(a.scores[t] - max);
  float sum = 0;
  for (t = first; t < n_keys; ++t) sum += a.scores[t];
  return sum;
}

}  // namespace

namespace detail {

void attend_avx2(const AttentionArgs& a) { attend_many_avx2(&a, 1); }

namespace {

template <TensorType K, TensorType V>
void attend_many_typed(const AttentionArgs* args, int count) {
  const float root = std::sqrt(static_cast<float>(args[0].head_dim));
  // The shared prefix in blocks of keys that stay in L1 while every query uses them; each query's
  // own keys after it. Per query the order of every operation is that of attend alone.
  constexpr size_t kBlock = 64;
  const size_t prefix = static_cast<size_t>(args[0].prefix);
  // Each query from its own first key (a sliding window); blocks before every query's are skipped.
  size_t lo = prefix;
  for (int i = 0; i < count; ++i) lo = std::min(lo, static_cast<size_t>(args[i].first));
  lo = lo / kBlock * kBlock;
  for (size_t t0 = lo; t0 < prefix; t0 += kBlock) score_prefix_block<K>(args, count, t0, std::min(prefix, t0 + kBlock), root);
  float sums[kMaxAttentionQueries];
  for (int i = 0; i < count; ++i) {
    const AttentionArgs& a = args[i];
    score_keys<K>(a, prefix, prefix + a.n_cells, root, false);
    sums[i] = softmax_weights(a, prefix + a.n_cells);
  }
  for (size_t t0 = lo; t0 < prefix; t0 += kBlock) value_prefix_block<V>(args, count, t0, std::min(prefix, t0 + kBlock), sums);
  for (int i = 0; i < count; ++i) {
    const AttentionArgs& a = args[i];
    if (prefix + a.n_cells == static_cast<size_t>(a.first)) {
      for (int d = 0; d < a.head_dim; ++d) a.out[d] = 0;
      continue;
    }
    accumulate_all_values<V>(a, prefix, prefix + a.n_cells, sums[i], false);
  }
}

}  // namespace

void attend_many_avx2(const AttentionArgs* args, int count) {
  const int D = args[0].head_dim;
  const TensorType K = args[0].k_type, V = args[0].v_type;
  const bool f32 = K == TensorType::F32 && V == TensorType::F32;
  if (D % 8 != 0 && !f32) return scalar_kernels().attend_many(args, count);  // no real model has such heads
  if (D % 8 != 0) {  // odd head sizes: the per-key kernels, same rule
    const float root = std::sqrt(static_cast<float>(D));
    for (int i = 0; i < count; ++i) {
      const AttentionArgs& a = args[i];
      const auto* keys = static_cast<const float*>(a.k) + a.offset;
      const auto* values = static_cast<const float*>(a.v) + a.offset;
      const size_t prefix = static_cast<size_t>(a.prefix), n_keys = prefix + a.n_cells;
      const auto first = static_cast<size_t>(a.first);
      const auto cell = [&](size_t t) { return t < prefix ? t : static_cast<size_t>(a.cells[t - prefix]); };
      float max = -INFINITY;
      for (size_t t = first; t < n_keys; ++t) a.scores[t] = dot_avx2(a.q, keys + cell(t) * a.kv_stride, D) / root;
      soft_cap_avx2(a.scores + first, n_keys - first, a.softcap);
      for (size_t t = first; t < n_keys; ++t) max = std::fmax(max, a.scores[t]);
      float sum = 0;
      for (size_t t = first; t < n_keys; ++t) {
        a.scores[t] = canonical_exp(a.scores[t] - max);
        sum += a.scores[t];
      }
      for (int d = 0; d < D; ++d) a.out[d] = 0;
      for (size_t t = first; t < n_keys; ++t) axpy_avx2(a.scores[t] / sum, values + cell(t) * a.kv_stride, a.out, D);
    }
    return;
  }
  dispatch_kv_types(K, V, [&]<TensorType KT, TensorType VT>() { attend_many_typed<KT, VT>(args, count); });
}

// The two steps (kernels.h) by the functions attend_many_typed runs, so with its bits: each query
// from its own first key.
void attend_scores_avx2(const AttentionArgs* args, int count, size_t t0, size_t t1) {
  if (args[0].head_dim % 8 != 0) return attend_scores_scalar(args, count, t0, t1);
  const float root = std::sqrt(static_cast<float>(args[0].head_dim));
  dispatch_kv_types(args[0].k_type, args[0].v_type, [&]<TensorType K, TensorType>() {
    for (size_t b = t0; b < t1; b += 64) score_prefix_block<K>(args, count, b, std::min(t1, b + 64), root);
  });
}

void attend_finish_avx2(const AttentionArgs* args, int count, size_t lo) {
  if (args[0].head_dim % 8 != 0) return attend_finish_scalar(args, count, lo);
  const float root = std::sqrt(static_cast<float>(args[0].head_dim));
  dispatch_kv_types(args[0].k_type, args[0].v_type, [&]<TensorType K, TensorType V>() {
    for (int i = 0; i < count; ++i) {
      const AttentionArgs& a = args[i];
      const size_t first = static_cast<size_t>(a.first), n_keys = static_cast<size_t>(a.prefix) + a.n_cells;
      score_keys<K>(a, static_cast<size_t>(a.prefix), n_keys, root, false);
      const float sum = softmax_weights(a, n_keys);
      if (n_keys == first) {  // no key to see
        for (int d = 0; d < a.head_dim; ++d) a.out[d] = 0;
        continue;
      }
      accumulate_all_values<V>(a, first, n_keys, sum, true);
    }
  });
}

void gelu_gate_avx2(float* gate, const float* up, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 g = gelu8(_mm256_loadu_ps(gate + i));
    if (up) g = _mm256_mul_ps(g, _mm256_loadu_ps(up + i));
    _mm256_storeu_ps(gate + i, g);
  }
  for (; i < n; ++i) gate[i] = up ? canonical_gelu(gate[i]) * up[i] : canonical_gelu(gate[i]);
}

void soft_cap_avx2(float* x, size_t n, float cap) {
  if (cap <= 0) return;
  const __m256 c = _mm256_set1_ps(cap);
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(x + i, _mm256_mul_ps(c, tanh8(_mm256_div_ps(_mm256_loadu_ps(x + i), c))));
  for (; i < n; ++i) x[i] = cap * canonical_tanh(x[i] / cap);
}

void swiglu_avx2(float* gate, const float* up, int64_t n) {
  int64_t i = 0;
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256 silu = _mm256_mul_ps(g, _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_xor_ps(g, sign)))));
    _mm256_storeu_ps(gate + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
  }
  for (; i < n; ++i) {
    const float g = gate[i];
    gate[i] = g * (1.0f / (1.0f + canonical_exp(-g))) * up[i];
  }
}

// Once per product and input, not per weight row: the portable version is fast enough.
void quantize_q8k_avx2(const float* x, size_t ldx, int n, int64_t K, uint8_t* out, size_t stride) {
  for (int r = 0; r < n; ++r) quantize_q8k_row_reference(x + static_cast<size_t>(r) * ldx, K, out + static_cast<size_t>(r) * stride);
}

}  // namespace detail

const KernelTable* avx2_kernels() {
  using namespace detail;
  static const KernelTable table{"avx2",   true,      quantize_q8_avx2, quantize_q8k_avx2, matmul_avx2,
                                 dot_avx2, axpy_avx2, attend_avx2,      attend_many_avx2, swiglu_avx2,
                                 gelu_gate_avx2, soft_cap_avx2, scan_logits_avx2, keep_at_least_avx2, sum_exp_at_avx2,
                                 attend_scores_avx2, attend_finish_avx2};
  return cpu_features().avx2 ? &table : nullptr;
}

}  // namespace aded::kernels
