// AVX-512 attention by the rule of kernels.h, bitwise what the scalar and AVX2 tables give:
//  * scores: the eight-lane dot rule with two keys in the halves of one vector (each half is the
//    AVX2 accumulator of its key), eight keys at a time, then the eight hsum8 reductions done side
//    by side with the same additions in the same association;
//  * softmax: canonical_exp sixteen lanes at a time, the sum in key order (the chains of several
//    queries side by side), then every weight e_t / sum divided once (the AVX2 code divides
//    inside the value loop; same quotient);
//  * keys and values cached as F16 or Q8_0 converted (by the rule) as they are loaded, or, for
//    many queries, a block at a time;
//  * values: out[i] = fma(p_t, v_t[i], out[i]) in key order, sixteen elements per vector. The
//    chain over keys is sequential for each element, so with a small head (48 elements: three
//    vectors) one query cannot keep the FMA units busy; queries of one batch that share the
//    prefix run through it together, each key's values loaded once for all of them.
// Head sizes that are not a multiple of 8 use the AVX2 code.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/kernels/canonical_exp.h"
#include "core/kernels/kernels.h"
#include "core/kernels/kv_load_avx2.h"

namespace aded::kernels {

namespace {

// canonical_exp (canonical_exp.h), sixteen lanes: the same operations in the same order.
inline __m512 exp16(__m512 x) {
  using namespace exp_constants;
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(-kLn2Hi), x);
  r = _mm512_fmadd_ps(n, _mm512_set1_ps(-kLn2Lo), r);
  const __m512 z = _mm512_mul_ps(r, r);
  __m512 y = _mm512_set1_ps(kP0);
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(kP1));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(kP2));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(kP3));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(kP4));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(kP5));
  y = _mm512_fmadd_ps(y, z, r);
  y = _mm512_add_ps(y, _mm512_set1_ps(1.0f));
  const __m512 nc = _mm512_min_ps(_mm512_max_ps(n, _mm512_set1_ps(-126.0f)), _mm512_set1_ps(127.0f));
  const __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(nc), _mm512_set1_epi32(127)), 23);
  __m512 e = _mm512_mul_ps(y, _mm512_castsi512_ps(bits));
  e = _mm512_mask_mov_ps(e, _mm512_cmp_ps_mask(x, _mm512_set1_ps(kMin), _CMP_LT_OQ), _mm512_setzero_ps());
  e = _mm512_mask_mov_ps(e, _mm512_cmp_ps_mask(x, _mm512_set1_ps(kMax), _CMP_GT_OQ), _mm512_set1_ps(INFINITY));
  return _mm512_mask_mov_ps(e, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), x);
}

inline float hsum8(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v);
  lo = _mm_add_ps(lo, _mm256_extractf128_ps(v, 1));  // a0+a4, a1+a5, a2+a6, a3+a7
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));        // (a0+a4)+(a2+a6), (a1+a5)+(a3+a7)
  lo = _mm_add_ss(lo, _mm_shuffle_ps(lo, lo, 1));
  return _mm_cvtss_f32(lo);
}

// Two eight-float vectors as the halves of one (AVX-512F has the 64-bit-element insert only).
inline __m512 halves(__m256 lo, __m256 hi) {
  return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_zextpd256_pd512(_mm256_castps_pd(lo)), _mm256_castps_pd(hi), 1));
}
// Sixteen cached elements from element i on (load_kv8 for eight; kv_load_avx2.h).
template <TensorType T>
inline __m512 load16(const void* base, size_t i) {
  if constexpr (T == TensorType::Q8_0)  // may straddle two blocks
    return halves(load_kv8<T>(base, i), load_kv8<T>(base, i + 8));
  else if constexpr (T == TensorType::F16)
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(base) + i)));
  else
    return _mm512_loadu_ps(static_cast<const float*>(base) + i);
}

// Where keys (values) are read: element (t - first) * stride + offset of base for the prefix key
// t (the cache: first = 0; or a block of it converted to floats), cell * stride + offset for a
// query's own cells. Sums of values start from 0 at key `from` (the first any query reads).
struct KvSource {
  const void* base;
  size_t stride, first, offset;
  size_t from = 0;
  size_t ahead = 0;  // cells ahead to prefetch (reading the cache; a converted block is in L1)
};

// The scores of eight keys from their eight-lane accumulators, two keys per vector (acc[p] holds
// keys 2p and 2p + 1), by hsum8's additions: lane j of the result is key j's score.
inline __m256 reduce_eight(const __m512* acc) {
  // acc[p] in 128-bit quarters: key 2p lanes 0-3, key 2p lanes 4-7, key 2p+1 lanes 0-3, 4-7.
  // Quarter j of x01 (x23): key j (4 + j) as a0+a4, a1+a5, a2+a6, a3+a7.
  const __m512 x01 = _mm512_add_ps(_mm512_shuffle_f32x4(acc[0], acc[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                   _mm512_shuffle_f32x4(acc[0], acc[1], _MM_SHUFFLE(3, 1, 3, 1)));
  const __m512 x23 = _mm512_add_ps(_mm512_shuffle_f32x4(acc[2], acc[3], _MM_SHUFFLE(2, 0, 2, 0)),
                                   _mm512_shuffle_f32x4(acc[2], acc[3], _MM_SHUFFLE(3, 1, 3, 1)));
  // Quarter j: (a0+a4)+(a2+a6), (a1+a5)+(a3+a7) of key j, then the same of key 4 + j.
  const __m512 y = _mm512_add_ps(_mm512_shuffle_ps(x01, x23, _MM_SHUFFLE(1, 0, 1, 0)),
                                 _mm512_shuffle_ps(x01, x23, _MM_SHUFFLE(3, 2, 3, 2)));
  // Lane 0 of quarter j: the score of key j; lane 2: of key 4 + j.
  const __m512 s = _mm512_add_ps(y, _mm512_permute_ps(y, _MM_SHUFFLE(2, 3, 0, 1)));
  const __m512i gather = _mm512_setr_epi32(0, 4, 8, 12, 2, 6, 10, 14, 0, 0, 0, 0, 0, 0, 0, 0);
  return _mm512_castps512_ps256(_mm512_permutexvar_ps(gather, s));
}

// scores[t] = dot(q, k_t) / root for Q queries and the keys t in [t0, t1) (head_dim % 8 == 0);
// each key's slices are loaded once for all Q queries. Keys are cells of the shared prefix
// (contiguous) unless OWN, where they are q[0]'s own cells (then Q == 1).
template <TensorType K, int Q, bool OWN>
void score_keys(const AttentionArgs* const* q, size_t t0, size_t t1, float root, KvSource src) {
  const int D = q[0]->head_dim;
  const int32_t* cells = q[0]->cells;
  const size_t prefix = static_cast<size_t>(q[0]->prefix);
  const void* keys = src.base;
  const auto key = [&](size_t t) {
    return (OWN ? static_cast<size_t>(cells[t - prefix]) : t - src.first) * src.stride + src.offset;
  };
  const float* query[Q];
  float* scores[Q];
  for (int i = 0; i < Q; ++i) {
    query[i] = q[i]->q;
    scores[i] = q[i]->scores;
  }
  const __m256 rootv = _mm256_set1_ps(root);
  size_t t = t0;
  const size_t ahead = OWN ? 0 : src.ahead;
  for (; t + 8 <= t1; t += 8) {
    size_t k[8];
    for (int j = 0; j < 8; ++j) k[j] = key(t + static_cast<size_t>(j));
    // The eight keys `ahead` on, as one range (the prefix's keys are in order): one loop, not
    // eight (one token at depth 4096 in the harness of kPrefetchCells: 8.9-11.3 -> 8.0-9.3 ms).
    if (ahead) prefetch_kv<K>(keys, k[0] + ahead * src.stride, static_cast<int>(k[7] - k[0]) + D);
    __m512 acc[Q][4];
    for (int i = 0; i < Q; ++i)
      for (int p = 0; p < 4; ++p) acc[i][p] = _mm512_setzero_ps();
    for (int d = 0; d < D; d += 8) {
      __m512 qv[Q];
      for (int i = 0; i < Q; ++i) {
        const __m256 q8 = _mm256_loadu_ps(query[i] + d);
        qv[i] = halves(q8, q8);
      }
      const auto at = static_cast<size_t>(d);
      for (int p = 0; p < 4; ++p) {
        const __m512 kk = halves(load_kv8<K>(keys, k[2 * p] + at), load_kv8<K>(keys, k[2 * p + 1] + at));
        for (int i = 0; i < Q; ++i) acc[i][p] = _mm512_fmadd_ps(qv[i], kk, acc[i][p]);
      }
    }
    for (int i = 0; i < Q; ++i) _mm256_storeu_ps(scores[i] + t, _mm256_div_ps(reduce_eight(acc[i]), rootv));
  }
  for (; t < t1; ++t) {
    const size_t k = key(t);
    for (int i = 0; i < Q; ++i) {
      __m256 acc = _mm256_setzero_ps();
      for (int d = 0; d < D; d += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(query[i] + d), load_kv8<K>(keys, k + static_cast<size_t>(d)), acc);
      scores[i][t] = hsum8(acc) / root;
    }
  }
}

// The scores of the keys [lo, n_keys) become e_t = canonical_exp(s_t - max), in place; those
// before the query's first key (computed with the other queries') become exactly 0.
void exponentials(const AttentionArgs& a, size_t lo, size_t n_keys) {
  float* s = a.scores;
  const auto first = static_cast<size_t>(a.first);
  detail::soft_cap_avx2(s + lo, n_keys - lo, a.softcap);
  for (size_t t = lo; t < first; ++t) s[t] = -INFINITY;
  // The maximum in any order (only its value matters).
  __m512 m16 = _mm512_set1_ps(-INFINITY);
  size_t t = lo;
  for (; t + 16 <= n_keys; t += 16) m16 = _mm512_max_ps(m16, _mm512_loadu_ps(s + t));
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, m16);
  float max = -INFINITY;
  for (float v : lanes) max = std::fmax(max, v);
  for (; t < n_keys; ++t) max = std::fmax(max, s[t]);
  const __m512 m = _mm512_set1_ps(max);
  for (t = lo; t + 16 <= n_keys; t += 16) _mm512_storeu_ps(s + t, exp16(_mm512_sub_ps(_mm512_loadu_ps(s + t), m)));
  for (; t < n_keys; ++t) s[t] = canonical_exp(s[t] - max);
}

// sums[i] += e_t of query i for t in [lo, n), in key order: one chain of additions per query,
// Q chains side by side (a single chain waits on the adder's latency at every key).
template <int Q>
void add_in_order(const AttentionArgs* const* q, size_t lo, size_t n, float* sums) {
  float acc[Q];
  for (int i = 0; i < Q; ++i) acc[i] = sums[i];
  for (size_t t = lo; t < n; ++t)
    for (int i = 0; i < Q; ++i) acc[i] += q[i]->scores[t];
  for (int i = 0; i < Q; ++i) sums[i] = acc[i];
}

// The exponentials of the keys [lo, n_keys) become the weights e_t / sum.
void normalize(const AttentionArgs& a, size_t lo, size_t n_keys, float sum) {
  float* s = a.scores;
  const __m512 sv = _mm512_set1_ps(sum);
  size_t t = lo;
  for (; t + 16 <= n_keys; t += 16) _mm512_storeu_ps(s + t, _mm512_div_ps(_mm512_loadu_ps(s + t), sv));
  for (; t < n_keys; ++t) s[t] = s[t] / sum;
}

// For Q queries: out[c0 .. c0 + 16 CN) += p_t v_t over the keys t in [t0, t1), in order, from 0
// when t0 == src.from; with HALF the last vector has only its low eight elements (head sizes 8
// mod 16).
template <TensorType V, int CN, bool HALF, int Q>
void accumulate_values(const AttentionArgs* const* q, size_t t0, size_t t1, int c0, KvSource src) {
  // A masked load in the key loop (GCC 12) and loads through q inside it both make the compiler
  // store o to memory at every key; hence plain loads and the fields copied out first. So does any
  // loop over o that GCC leaves rolled (o is then not split into registers): hence the pragmas.
  const auto load_out = [](const float* p, int c) {
    return HALF && c == CN - 1 ? _mm512_zextps256_ps512(_mm256_loadu_ps(p + 16 * c)) : _mm512_loadu_ps(p + 16 * c);
  };
  const auto load_value = [](const void* base, size_t v, int c) {
    const size_t at = v + 16 * static_cast<size_t>(c);
    return HALF && c == CN - 1 ? _mm512_zextps256_ps512(load_kv8<V>(base, at)) : load16<V>(base, at);
  };
  const float* weights[Q];
  float* out[Q];
  for (int i = 0; i < Q; ++i) {
    weights[i] = q[i]->scores;
    out[i] = q[i]->out + c0;
  }
  // Every query reads the same cells (the shared prefix, from `values` as score_keys reads keys; or
  // Q == 1 and its own cells, from the cache).
  const int32_t* cells = q[0]->cells;
  const size_t prefix = static_cast<size_t>(q[0]->prefix);
  __m512 o[Q][CN];
#pragma GCC unroll 8
  for (int i = 0; i < Q; ++i)
#pragma GCC unroll 8
    for (int c = 0; c < CN; ++c) o[i][c] = t0 == src.from ? _mm512_setzero_ps() : load_out(out[i], c);
  const size_t ahead = src.ahead;
  for (size_t t = t0; t < t1; ++t) {
    const size_t v = (t < prefix ? t - src.first : static_cast<size_t>(cells[t - prefix])) * src.stride + src.offset +
                     static_cast<size_t>(c0);
    if (ahead && t + ahead < prefix && (t - t0) % 8 == 0)  // eight keys' values at once, as for keys
      prefetch_kv<V>(src.base, v + ahead * src.stride, static_cast<int>(7 * src.stride) + 16 * CN);
    __m512 vv[CN];
    for (int c = 0; c < CN; ++c) vv[c] = load_value(src.base, v, c);
    for (int i = 0; i < Q; ++i) {
      const __m512 p = _mm512_set1_ps(weights[i][t]);
      for (int c = 0; c < CN; ++c) o[i][c] = _mm512_fmadd_ps(p, vv[c], o[i][c]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < Q; ++i)
#pragma GCC unroll 8
    for (int c = 0; c < CN; ++c) {
      if (HALF && c == CN - 1)
        _mm512_mask_storeu_ps(out[i] + 16 * c, 0x00FF, o[i][c]);
      else
        _mm512_storeu_ps(out[i] + 16 * c, o[i][c]);
    }
}

template <TensorType V, int Q, bool HALF>
void accumulate_chunk(const AttentionArgs* const* q, size_t t0, size_t t1, int c0, int cn, KvSource src) {
  switch (cn) {
    case 1: return accumulate_values<V, 1, HALF, Q>(q, t0, t1, c0, src);
    case 2: return accumulate_values<V, 2, HALF, Q>(q, t0, t1, c0, src);
    case 3: return accumulate_values<V, 3, HALF, Q>(q, t0, t1, c0, src);
    case 4: return accumulate_values<V, 4, HALF, Q>(q, t0, t1, c0, src);
    case 5: return accumulate_values<V, 5, HALF, Q>(q, t0, t1, c0, src);
    case 6: return accumulate_values<V, 6, HALF, Q>(q, t0, t1, c0, src);
    case 7: return accumulate_values<V, 7, HALF, Q>(q, t0, t1, c0, src);
    default: return accumulate_values<V, 8, HALF, Q>(q, t0, t1, c0, src);
  }
}

template <TensorType V, int Q>
void accumulate_chunk(const AttentionArgs* const* q, size_t t0, size_t t1, int c0, int cn, bool half, KvSource src) {
  if (half)
    accumulate_chunk<V, Q, true>(q, t0, t1, c0, cn, src);
  else
    accumulate_chunk<V, Q, false>(q, t0, t1, c0, cn, src);
}

// All head elements of `count` queries over keys [t0, t1): chunks of up to eight vectors, as many
// queries together (up to four) as keep the accumulators in registers.
template <TensorType V>
void accumulate_all_values(const AttentionArgs* const* q, int count, size_t t0, size_t t1, KvSource src) {
  const int D = q[0]->head_dim;
  for (int c0 = 0; c0 < D; c0 += 128) {
    const int width = D - c0 < 128 ? D - c0 : 128;
    const int cn = (width + 15) / 16;
    const bool half = width % 16 != 0;
    const int together = cn <= 4 ? 4 : cn <= 6 ? 2 : 1;
    for (int i = 0; i < count;) {
      const int take = count - i >= together ? together : count - i >= 2 && together >= 2 ? 2 : 1;
      if (take == 4)
        accumulate_chunk<V, 4>(q + i, t0, t1, c0, cn, half, src);
      else if (take == 2)
        accumulate_chunk<V, 2>(q + i, t0, t1, c0, cn, half, src);
      else
        accumulate_chunk<V, 1>(q + i, t0, t1, c0, cn, half, src);
      i += take;
    }
  }
}

// Elements of the keys (values) t in [t0, t1) of the prefix, converted to floats, D per key: an
// F16 cache's block is converted once for all the queries that read it.
template <TensorType T>
void convert_block(const void* cache, size_t stride, size_t offset, size_t t0, size_t t1, int D, float* block) {
  for (size_t t = t0; t < t1; ++t) {
    prefetch_kv<T>(cache, (t + kPrefetchCells) * stride + offset, D);
    for (int d = 0; d < D; d += 8)
      _mm256_storeu_ps(block + (t - t0) * static_cast<size_t>(D) + d,
                       load_kv8<T>(cache, t * stride + offset + static_cast<size_t>(d)));
  }
}

// The shared prefix in blocks of keys that stay in L1 while every query uses them; each query's
// own keys after them. Per query the order of every operation is that of attend alone.
constexpr size_t kBlock = 64;
constexpr int kMaxConvertedHead = 256;

// With many passes of queries over a block (a verification: 16 tokens x the heads of a group),
// an F16 or Q8_0 block is converted once, not per pass; for one token's heads (up to 8, two
// passes) converting as they load is faster (1.1B F16 at depth 4096: 25.0 against 27-29 ms).
bool converts(const AttentionArgs* args, int count) { return count > 8 && args[0].head_dim <= kMaxConvertedHead; }

// Keys from the first any query sees (sliding windows); each query's earlier ones weigh 0.
size_t least_first(const AttentionArgs* args, int count) {
  auto lo = static_cast<size_t>(args[0].prefix);
  for (int i = 0; i < count; ++i) lo = std::min(lo, static_cast<size_t>(args[i].first));
  return lo;
}

// Step 1: the scores of the prefix's keys [from, to) for every query.
template <TensorType K>
void prefix_scores(const AttentionArgs* args, int count, size_t from, size_t to) {
  const int D = args[0].head_dim;
  const float root = std::sqrt(static_cast<float>(D));
  const size_t stride = args[0].kv_stride, offset = args[0].offset;
  const AttentionArgs* all[kMaxAttentionQueries];
  for (int i = 0; i < count; ++i) all[i] = &args[i];
  alignas(64) float block[kBlock * kMaxConvertedHead];
  for (size_t t0 = from; t0 < to; t0 += kBlock) {
    const size_t t1 = t0 + kBlock < to ? t0 + kBlock : to;
    const auto run = [&]<TensorType T>(KvSource src) {
      int i = 0;
      for (; i + 4 <= count; i += 4) score_keys<T, 4, false>(all + i, t0, t1, root, src);
      for (; i + 2 <= count; i += 2) score_keys<T, 2, false>(all + i, t0, t1, root, src);
      for (; i < count; ++i) score_keys<T, 1, false>(all + i, t0, t1, root, src);
    };
    if (K != TensorType::F32 && converts(args, count)) {
      convert_block<K>(args[0].k, stride, offset, t0, t1, D, block);
      run.template operator()<TensorType::F32>({block, static_cast<size_t>(D), t0, 0});
    } else {
      run.template operator()<K>({args[0].k, stride, 0, offset, 0, kPrefetchCells});
    }
  }
}

// Step 2, first part: each query's own keys' scores, then its weights over [lo, its last key].
template <TensorType K>
void weights(const AttentionArgs* args, int count, size_t lo) {
  const float root = std::sqrt(static_cast<float>(args[0].head_dim));
  const size_t prefix = static_cast<size_t>(args[0].prefix), stride = args[0].kv_stride;
  const AttentionArgs* all[kMaxAttentionQueries];
  for (int i = 0; i < count; ++i) {
    const AttentionArgs& a = args[i];
    all[i] = &a;
    score_keys<K, 1, true>(all + i, prefix, prefix + a.n_cells, root, {a.k, stride, 0, a.offset});
    exponentials(a, lo, prefix + a.n_cells);
  }
  // The sums: the shared prefix for several queries at once, then each query's own keys.
  float sums[kMaxAttentionQueries] = {};
  int i = 0;
  for (; i + 8 <= count; i += 8) add_in_order<8>(all + i, lo, prefix, sums + i);
  for (; i + 4 <= count; i += 4) add_in_order<4>(all + i, lo, prefix, sums + i);
  for (; i < count; ++i) add_in_order<1>(all + i, lo, prefix, sums + i);
  for (i = 0; i < count; ++i) {
    const AttentionArgs& a = args[i];
    for (size_t t = prefix; t < prefix + a.n_cells; ++t) sums[i] += a.scores[t];
    normalize(a, lo, prefix + a.n_cells, sums[i]);
  }
}

// Step 2, second part: every query's output.
template <TensorType V>
void values(const AttentionArgs* args, int count, size_t lo) {
  const int D = args[0].head_dim;
  const size_t prefix = static_cast<size_t>(args[0].prefix), stride = args[0].kv_stride, offset = args[0].offset;
  const AttentionArgs* all[kMaxAttentionQueries];
  for (int i = 0; i < count; ++i) all[i] = &args[i];
  alignas(64) float block[kBlock * kMaxConvertedHead];
  for (size_t t0 = lo; t0 < prefix; t0 += kBlock) {
    const size_t t1 = t0 + kBlock < prefix ? t0 + kBlock : prefix;
    if (V != TensorType::F32 && converts(args, count)) {
      convert_block<V>(args[0].v, stride, offset, t0, t1, D, block);
      accumulate_all_values<TensorType::F32>(all, count, t0, t1, {block, static_cast<size_t>(D), t0, 0, lo});
    } else {
      accumulate_all_values<V>(all, count, t0, t1, {args[0].v, stride, 0, offset, lo, kPrefetchCells});
    }
  }
  for (int i = 0; i < count; ++i) {
    const AttentionArgs& a = args[i];
    if (prefix + a.n_cells == static_cast<size_t>(a.first)) {  // no key to see
      for (int d = 0; d < D; ++d) a.out[d] = 0;
      continue;
    }
    accumulate_all_values<V>(all + i, 1, prefix, prefix + a.n_cells, {a.v, stride, 0, offset, lo});
  }
}

template <TensorType K, TensorType V>
void attend_many_typed(const AttentionArgs* args, int count) {
  const size_t lo = least_first(args, count);
  prefix_scores<K>(args, count, lo, static_cast<size_t>(args[0].prefix));
  weights<K>(args, count, lo);
  values<V>(args, count, lo);
}

}  // namespace

namespace detail {

void attend_many_avx512(const AttentionArgs* args, int count) {
  if (args[0].head_dim % 8 != 0) return attend_many_avx2(args, count);
  dispatch_kv_types(args[0].k_type, args[0].v_type,
                    [&]<TensorType K, TensorType V>() { attend_many_typed<K, V>(args, count); });
}

void attend_avx512(const AttentionArgs& a) { attend_many_avx512(&a, 1); }

void attend_scores_avx512(const AttentionArgs* args, int count, size_t t0, size_t t1) {
  if (args[0].head_dim % 8 != 0) return attend_scores_avx2(args, count, t0, t1);
  dispatch_kv_types(args[0].k_type, args[0].v_type,
                    [&]<TensorType K, TensorType>() { prefix_scores<K>(args, count, t0, t1); });
}

void attend_finish_avx512(const AttentionArgs* args, int count, size_t lo) {
  if (args[0].head_dim % 8 != 0) return attend_finish_avx2(args, count, lo);
  dispatch_kv_types(args[0].k_type, args[0].v_type, [&]<TensorType K, TensorType V>() {
    weights<K>(args, count, lo);
    values<V>(args, count, lo);
  });
}

}  // namespace detail

}  // namespace aded::kernels
