// Compute kernels behind a dispatch table: one table per instruction set, chosen at run time.
//
// Bit-exactness contract (docs/VERIFY.md): every kernel computes each output element with one
// fixed sequence of floating-point operations, whatever the number of rows in the batch, the tile
// it falls in, or the instruction set. The canonical sequences are:
//
//  * float weights (F32, F16, BF16) x float activations: eight lanes, element k goes to lane k % 8,
//    acc[lane] = fma(w[k], x[k], acc[lane]) for increasing k, then hsum8(acc).
//  * Q8_0, Q4_0, Q5_0 weights x Q8 activations (int8, one float scale per 32 elements): per block b,
//    lane l holds the exact integer sum of w[i] * x[i] for i = 32b + 4l .. 32b + 4l + 3, and
//    acc[l] = fma(float(isum[l]), d_w(b) * d_x(b), acc[l]); then hsum8(acc).
//  * Q4_K, Q5_K, Q6_K weights x Q8K activations (int8, one float scale per 256 elements, plus
//    int16 sums of each 16 activations): per super-block s and lane l, exact integers
//      isum[l] = sum over sub-blocks j of scale(j, l) * sum_{i < 4} q[32j + 4l + i] * x[32j + 4l + i]
//      (Q6_K: q - 32; scale(j, l) is sc_j for Q4_K/Q5_K, the 16-group scale for Q6_K)
//      mins[l] = m_l * sum_{i < 32} x[32l + i]   (Q4_K/Q5_K: lane l <-> sub-block l)
//    acc[l] = fma(float(isum[l]), d * d_x(s), acc[l]);
//    acc[l] = fma(float(mins[l]), -(dmin * d_x(s)), acc[l])   (Q4_K/Q5_K only); then hsum8(acc).
//  * other types: the weight row is dequantized by the scalar reference, then the float rule.
//  * hsum8(a) = ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7)).
//
// So the scalar table and the AVX2 table give bitwise identical results (tests check this), and a
// batched forward reproduces sequential decoding exactly.
#pragma once

#include <cstddef>
#include <cstdint>

#include "aded/tensor_type.h"

namespace aded::kernels {

// Activation format a weight type is multiplied with.
enum class InputFormat { F32, Q8, Q8K };
InputFormat input_format(TensorType weight_type);
inline bool is_k_quant(TensorType t) {
  return t == TensorType::Q4_K || t == TensorType::Q5_K || t == TensorType::Q6_K;
}
// Bytes of one prepared activation row of K elements (a multiple of 32 bytes).
size_t input_row_bytes(InputFormat format, int64_t K);

// Q8 activation row layout: K int8 values, then K/32 float scales, then for every block the eight
// lane sums x[32b + 4l] + ... + x[32b + 4l + 3] as int32 (kernels with unsigned weights use them
// to undo the weights' offset: sum (q - 8) x = sum q x - 8 sum x, exactly, lane by lane).
inline const int8_t* q8_values(const uint8_t* row) { return reinterpret_cast<const int8_t*>(row); }
inline const float* q8_scales(const uint8_t* row, int64_t K) {
  return reinterpret_cast<const float*>(row + K);
}
inline const int32_t* q8_lane_sums(const uint8_t* row, int64_t K) {
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
};

struct KernelTable {
  const char* name;
  // Quantizes n float rows (stride ldx floats) to Q8 rows (stride out_stride bytes). K % 32 == 0.
  void (*quantize_q8)(const float* x, size_t ldx, int n, int64_t K, uint8_t* out, size_t out_stride);
  // The same for Q8K rows. K % 256 == 0.
  void (*quantize_q8k)(const float* x, size_t ldx, int n, int64_t K, uint8_t* out, size_t out_stride);
  // Output columns [j0, j1) for all n activation rows.
  void (*matmul)(const MatMulArgs& args, int64_t j0, int64_t j1);
  // Canonical float dot product (the float rule above with w = a, x = b).
  float (*dot)(const float* a, const float* b, int64_t n);
  // y[i] = fma(a, x[i], y[i]).
  void (*axpy)(float a, const float* x, float* y, int64_t n);
};

const KernelTable& scalar_kernels();
// nullptr when this build or this CPU has no AVX2+FMA+F16C.
const KernelTable* avx2_kernels();
// The fastest table the CPU supports; ADED_KERNELS=scalar in the environment forces the scalar one.
const KernelTable& best_kernels();

// Shared by the tables: Q8 and Q8K quantization of one row (the values every table must produce).
void quantize_q8_row_reference(const float* x, int64_t K, uint8_t* out);
void quantize_q8k_row_reference(const float* x, int64_t K, uint8_t* out);

}  // namespace aded::kernels
