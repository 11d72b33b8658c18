// Compute kernels behind a dispatch table: one table per instruction set, chosen at run time.
//
// Bit-exactness contract (../shared/docs/VERIFY.md): every kernel computes each output element with one
// fixed sequence of floating-point operations, whatever the number of rows in the batch, the tile
// it falls in, the thread, the weight layout (packing.h) or the instruction set. The canonical
// sequences of a matrix product y = w . x are:
//
//  * float weights (F32, F16, BF16, and types without integer kernels, dequantized by the scalar
//    reference): one accumulator, acc = fma(w[k], x[k], acc) for k = 0, 1, ..., K-1 from +0.
//  * Q8_0, Q4_0, Q5_0 weights x Q8 activations (int8, one float scale per 32 elements): per block
//    b, isum = the exact integer sum of the 32 products w[i] * x[i] (signed true values), then
//    acc = fma(float(isum), d_w(b) * d_x(b), acc) for b ascending, from +0.
//  * Q4_K, Q5_K, Q6_K weights x Q8K activations (int8, one float scale per 256 elements, plus
//    int16 sums of each 16 activations): per super-block s and lane l = 0..7, exact integers
//      isum[l] = sum over sub-blocks j of scale(j, l) * sum_{i < 4} q[32j + 4l + i] * x[32j + 4l + i]
//      (Q6_K: q - 32; scale(j, l) is sc_j for Q4_K/Q5_K, the 16-group scale for Q6_K)
//      mins[l] = m_l * sum_{i < 32} x[32l + i]   (Q4_K/Q5_K: lane l <-> sub-block l)
//    acc[l] = fma(float(isum[l]), d * d_x(s), acc[l]);
//    acc[l] = fma(float(mins[l]), -(dmin * d_x(s)), acc[l])   (Q4_K/Q5_K only); then hsum8(acc).
//  * dot(a, b) (attention scores): eight lanes, element k goes to lane k % 8,
//    acc[lane] = fma(a[k], b[k], acc[lane]) for increasing k, then hsum8(acc).
//  * attention of one query over its keys t = 0, 1, ... (AttentionArgs): s_t = dot(q, k_t) / sqrt(d);
//    m = fmax over s_t in order; e_t = canonical_exp(s_t - m); sum = ((e_0 + e_1) + e_2) + ...;
//    out = 0, then out[i] = fma(e_t / sum, v_t[i], out[i]) for t in order. Keys and values cached
//    as F16 enter as their exact float values, as Q8_0 as float(q) * float(d) of their block.
//  * swiglu: g * (1 / (1 + canonical_exp(-g))) * u, left to right (canonical_exp.h).
//  * hsum8(a) = ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7)).
//
// The one-accumulator rules let the SIMD kernels put 16 output rows in the lanes of a vector
// (packing.h), so a batch of n tokens costs little more than one token while the weights stream
// from memory once. The scalar table follows the rules literally; tests check that every table
// gives identical bits, and that a batched forward reproduces sequential decoding exactly.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "aded/tensor_type.h"
#include "core/kernels/canonical_exp.h"

namespace aded::kernels {

// Activation format a weight type is multiplied with.
enum class InputFormat { F32, Q8, Q8K };
InputFormat input_format(TensorType weight_type);
inline bool is_k_quant(TensorType t) {
  return t == TensorType::Q4_K || t == TensorType::Q5_K || t == TensorType::Q6_K;
}
// Bytes of one prepared activation row of K elements (a multiple of 32 bytes).
size_t input_row_bytes(InputFormat format, int64_t K);

// Q8 activation row layout: K int8 values, then K/32 float scales, then the K/32 int32 sums of
// each block's values (kernels on unsigned stored weights undo the offset with them:
// sum (q - 8) x = sum q x - 8 sum x, exactly).
inline const int8_t* q8_values(const uint8_t* row) { return reinterpret_cast<const int8_t*>(row); }
inline const float* q8_scales(const uint8_t* row, int64_t K) {
  return reinterpret_cast<const float*>(row + K);
}
inline const int32_t* q8_block_sums(const uint8_t* row, int64_t K) {
  return reinterpret_cast<const int32_t*>(row + K + K / 32 * 4);
}
// Q8K activation row layout (K a multiple of 256): K int8 values, K/256 float scales, then K/16
// int16 sums of consecutive groups of 16 values.
inline const float* q8k_scales(const uint8_t* row, int64_t K) { return reinterpret_cast<const float*>(row + K); }
inline const int16_t* q8k_sums16(const uint8_t* row, int64_t K) {
  return reinterpret_cast<const int16_t*>(row + K + K / 256 * 4);
}

struct MatMulArgs {
  TensorType type;
  const uint8_t* w;    // weight rows (N of them), each K elements of `type`
  size_t w_stride;     // bytes between weight rows
  int64_t K;
  const uint8_t* x;    // n prepared activation rows (see input_format)
  size_t x_stride;     // bytes between activation rows
  int n;
  float* y;            // y[r * y_stride + j]
  size_t y_stride;     // floats between output rows
  // The same weights packed for this table (packing.h, all rows from row 0), or nullptr. Tables
  // that use packed weights pack groups on the fly when it is missing.
  const uint8_t* packed = nullptr;
};

// One attention query: the keys and values of cell c are head_dim elements from element
// c * kv_stride + offset of k and v, each of its type (the KV cache's: F32, F16, or Q8_0 in
// 32-element blocks of the row, which then starts at a block and holds heads of a multiple of 32
// elements); the query sees cells [first, prefix), then cells[0 .. n_cells), in that order (a
// sliding window starts at `first`; the keys before it weigh exactly nothing, so the result is
// bitwise the one over the visible keys alone, whatever a table computes for the others).
struct AttentionArgs {
  const float* q;
  int head_dim;
  const void* k;
  const void* v;
  size_t kv_stride;
  int32_t prefix;
  const int32_t* cells;
  size_t n_cells;
  float* scores;  // scratch: prefix + n_cells floats
  float* out;     // head_dim floats
  TensorType k_type = TensorType::F32;
  TensorType v_type = TensorType::F32;
  size_t offset = 0;  // of cell 0's first element (the KV cache: its head's run)
  float softcap = 0;  // scores become softcap * tanh(score / softcap) (Gemma 2); 0: as they are
  int32_t first = 0;  // <= prefix
};

// Gemma 2's soft-capping, x = cap * tanh(x / cap) with canonical_tanh (canonical_exp.h), which the
// SIMD tables compute lane by lane to the same bits; nothing for cap <= 0. The function is
// monotonic, so the maximum of capped scores is the capped maximum.
inline void soft_cap_scores(float* scores, size_t n, float cap) {
  if (cap <= 0) return;
  for (size_t t = 0; t < n; ++t) scores[t] = cap * canonical_tanh(scores[t] / cap);
}

// Calls f.template operator()<K, V>() with the KV cache types as template arguments (F32, F16 or
// Q8_0 each): the attention kernels are instantiated per pair.
template <typename F>
void dispatch_kv_types(TensorType k, TensorType v, F&& f) {
  const auto with_v = [&]<TensorType K>() {
    if (v == TensorType::Q8_0)
      f.template operator()<K, TensorType::Q8_0>();
    else if (v == TensorType::F16)
      f.template operator()<K, TensorType::F16>();
    else
      f.template operator()<K, TensorType::F32>();
  };
  if (k == TensorType::Q8_0)
    with_v.template operator()<TensorType::Q8_0>();
  else if (k == TensorType::F16)
    with_v.template operator()<TensorType::F16>();
  else
    with_v.template operator()<TensorType::F32>();
}

// Most queries one attend_many call takes: the forward gives it the queries of up to 16 tokens for
// every query head that shares a key/value head (grouped-query attention), so each key and value
// is read from memory once for all of them.
constexpr int kMaxAttentionQueries = 128;

struct KernelTable {
  const char* name;
  // Whether matmul reads MatMulArgs::packed (types with a pack_format), so callers that multiply
  // by the same weights many times should pack them once.
  bool uses_packed_weights;
  // Quantizes n float rows (stride ldx floats) to Q8 rows (stride out_stride bytes). K % 32 == 0.
  void (*quantize_q8)(const float* x, size_t ldx, int n, int64_t K, uint8_t* out, size_t out_stride);
  // The same for Q8K rows. K % 256 == 0.
  void (*quantize_q8k)(const float* x, size_t ldx, int n, int64_t K, uint8_t* out, size_t out_stride);
  // Output columns [j0, j1) for all n activation rows.
  void (*matmul)(const MatMulArgs& args, int64_t j0, int64_t j1);
  // The dot rule above (eight lanes; attention scores), not the one-accumulator float rule.
  float (*dot)(const float* a, const float* b, int64_t n);
  // y[i] = fma(a, x[i], y[i]).
  void (*axpy)(float a, const float* x, float* y, int64_t n);
  // out = softmax(q . k / sqrt(d)) . v by the attention rule above.
  void (*attend)(const AttentionArgs& args);
  // The same for `count` queries of one head that share k, v, kv_stride, head_dim and prefix
  // (the tokens of one batch; each its own first): each key of the shared prefix is read once for
  // all of them.
  void (*attend_many)(const AttentionArgs* args, int count);
  // gate[i] = silu(gate[i]) * up[i] by the swiglu rule above.
  void (*swiglu)(float* gate, const float* up, int64_t n);
  // gate[i] = canonical_gelu(gate[i]) * up[i]; gate[i] = canonical_gelu(gate[i]) when up is null.
  void (*gelu_gate)(float* gate, const float* up, int64_t n);
  // soft_cap_scores (Gemma 2's attention scores and final logits).
  void (*soft_cap)(float* x, size_t n, float cap);
  // Scans of one row of logits (the greedy head's candidate search; logit_scan_*.cpp):
  // the largest value and the largest magnitude of y[0, n) (NaN ignored), and whether every |y|
  // is below 1e30 (no NaN, no infinity);
  bool (*scan_logits)(const float* y, int64_t n, float* top, float* magnitude);
  // y[j] = -inf wherever y[j] >= cut does not hold; the other indices go to keep, ascending;
  // returns their count.
  int64_t (*keep_at_least)(float* y, int64_t n, float cut, int32_t* keep);
  // The sum of canonical_exp(y[at[i]] - shift) over i in [0, n) (a softmax's denominator over the
  // tokens a scan kept): term i goes to lane i % 8, the lanes are added 0..7 in order, so every
  // table gives the same value.
  float (*sum_exp_at)(const float* y, const int32_t* at, int64_t n, float shift);

  // attend_many in two steps, for a team that divides one kv head's attention among its threads
  // (ForwardPass, fewer attention tasks than threads): each step may be divided among threads, a
  // barrier between them, and together they give attend_many's bits over the same queries.
  //  1. attend_scores: the scores of the shared prefix's keys [t0, t1) for every query;
  //  2. attend_finish: for each query, its own cells' scores, the softmax weights and the value
  //     sums. It needs step 1 over [lo, prefix), lo the least `first` of the divided call's queries.
  void (*attend_scores)(const AttentionArgs* args, int count, size_t t0, size_t t1);
  void (*attend_finish)(const AttentionArgs* args, int count, size_t lo);
};

const KernelTable& scalar_kernels();
// nullptr when this build or this CPU has no AVX2+FMA+F16C.
const KernelTable* avx2_kernels();
// nullptr without AVX-512 F/BW/VL/VNNI (and AVX2+FMA+F16C).
const KernelTable* avx512_kernels();
// Every table this CPU can run, the scalar one first (for tests and ADED_KERNELS).
std::vector<const KernelTable*> available_kernels();
// The fastest table the CPU supports; ADED_KERNELS=scalar|avx2|avx512 in the environment picks one.
const KernelTable& best_kernels();

// Parts of the AVX2 table the AVX-512 table reuses (the same canonical order; compiled for AVX2).
namespace detail {
void quantize_q8_avx2(const float* x, size_t ldx, int n, int64_t K, uint8_t* out, size_t out_stride);
void quantize_q8k_avx2(const float* x, size_t ldx, int n, int64_t K, uint8_t* out, size_t out_stride);
void matmul_avx2(const MatMulArgs& args, int64_t j0, int64_t j1);
float dot_avx2(const float* a, const float* b, int64_t n);
void axpy_avx2(float a, const float* x, float* y, int64_t n);
void attend_avx2(const AttentionArgs& args);
void attend_many_avx2(const AttentionArgs* args, int count);
void attend_scores_avx2(const AttentionArgs* args, int count, size_t t0, size_t t1);
void attend_finish_avx2(const AttentionArgs* args, int count, size_t lo);
void swiglu_avx2(float* gate, const float* up, int64_t n);
void gelu_gate_avx2(float* gate, const float* up, int64_t n);
void soft_cap_avx2(float* x, size_t n, float cap);
// The AVX-512 attention (attention_avx512.cpp), same rule.
void attend_avx512(const AttentionArgs& args);
void attend_many_avx512(const AttentionArgs* args, int count);
void attend_scores_avx512(const AttentionArgs* args, int count, size_t t0, size_t t1);
void attend_finish_avx512(const AttentionArgs* args, int count, size_t lo);
// The logit scans of each table (logit_scan_*.cpp).
bool scan_logits_scalar(const float* y, int64_t n, float* top, float* magnitude);
int64_t keep_at_least_scalar(float* y, int64_t n, float cut, int32_t* keep);
bool scan_logits_avx2(const float* y, int64_t n, float* top, float* magnitude);
int64_t keep_at_least_avx2(float* y, int64_t n, float cut, int32_t* keep);
bool scan_logits_avx512(const float* y, int64_t n, float* top, float* magnitude);
int64_t keep_at_least_avx512(float* y, int64_t n, float cut, int32_t* keep);
float sum_exp_at_scalar(const float* y, const int32_t* at, int64_t n, float shift);
float sum_exp_at_avx2(const float* y, const int32_t* at, int64_t n, float shift);
// The scalar table's attention steps (the AVX2 table's for head sizes that are not a multiple of 8).
void attend_scores_scalar(const AttentionArgs* args, int count, size_t t0, size_t t1);
void attend_finish_scalar(const AttentionArgs* args, int count, size_t lo);
}  // namespace detail

// Shared by the tables: Q8 and Q8K quantization of one row (the values every table must produce).
void quantize_q8_row_reference(const float* x, int64_t K, uint8_t* out);
void quantize_q8k_row_reference(const float* x, int64_t K, uint8_t* out);

}  // namespace aded::kernels
