// Weight matrices re-laid out for the SIMD kernels: groups of 16 consecutive output rows
// interleaved so that one vector lane holds one output row. A kernel then computes 16 outputs
// with one vector instruction per input element (or per 4-element chunk for int8), reads every
// weight byte exactly once per forward however many activation rows there are, and needs no
// horizontal sums. The canonical operation order (kernels.h) is defined per output element, so
// the scalar kernels on the original layout and the SIMD kernels on this one agree bitwise.
//
// Layouts of one group (rows 16g .. 16g+15; rows past the matrix are zero):
//  * F32x16 / F16x16 / BF16x16: for k = 0..K-1, the 16 rows' element k (64 / 32 / 32 bytes).
//  * Q8x16 (from Q8_0 and Q5_0): for each 32-element block b: the 16 rows' f16 scales (32 bytes),
//    then 8 chunks of 64 bytes; chunk i holds for lane (row) r the four bytes
//    q_r[32b + 4i .. 32b + 4i + 3] + offset, unsigned (offset 128 for Q8_0, 16 for Q5_0).
//  * Q4x16 (from Q4_0): for each block: 16 f16 scales, then 4 chunks of 64 bytes; chunk p holds
//    for lane r four bytes whose low nibbles are q_r[32b + 4p + t] and high nibbles are
//    q_r[32b + 16 + 4p + t] (t = 0..3): the block's own bytes qs[4p .. 4p+3]. Offset 8.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "aded/tensor_type.h"

namespace aded::kernels {

constexpr int kPackRows = 16;

enum class PackFormat { None, F32x16, F16x16, BF16x16, Q8x16, Q4x16 };

// The packed format of a weight type. Types outside this list (the k-quants, Q4_1, ...) are not
// packed ahead of time (PackFormat::None).
PackFormat pack_format(TensorType type);
// What the stored unsigned values of Q8x16 / Q4x16 are offset by (0 for float formats).
int pack_offset(TensorType type);
// Bytes of one packed group of 16 rows of K elements, and of one block inside a group.
size_t packed_group_bytes(PackFormat format, int64_t K);
size_t packed_block_bytes(PackFormat format);

// Packs rows [row0, row0 + count) (count <= 16) of a matrix in `type` into one group.
void pack_group(TensorType type, const uint8_t* rows, size_t row_bytes, int count, int64_t K, uint8_t* out);
// The inverse: row `lane` (0..15) of a packed group, written back in the type's own row layout
// (the bytes pack_group read).
void unpack_row(TensorType type, const uint8_t* group, int lane, int64_t K, uint8_t* row);
// Row r of a whole packed matrix of K columns (group r / 16, lane r % 16), in the type's row layout.
void unpack_matrix_row(TensorType type, const uint8_t* packed, int64_t K, int64_t r, uint8_t* row);
// Bytes of a whole matrix packed: its rows rounded up to groups of 16 (0 for unpackable types).
size_t packed_matrix_bytes(TensorType type, int64_t rows, int64_t cols);

// A per-thread, 64-byte aligned scratch buffer of at least `bytes` (slot 0..3), for kernels that
// pack or dequantize on the fly. Valid until the next call with the same slot on this thread.
uint8_t* kernel_scratch(int slot, size_t bytes);

// A whole matrix, packed, 64-byte aligned, group after group.
class PackedWeights {
 public:
  // Throws if the type has no packed format.
  PackedWeights(TensorType type, const uint8_t* data, size_t row_bytes, int64_t rows, int64_t cols);
  const uint8_t* data() const { return data_.get(); }
  size_t group_bytes() const { return group_bytes_; }
  size_t bytes() const { return group_bytes_ * static_cast<size_t>(groups_); }

 private:
  struct Free {
    void operator()(uint8_t* p) const;
  };
  std::unique_ptr<uint8_t, Free> data_;
  size_t group_bytes_ = 0;
  int64_t groups_ = 0;
};

}  // namespace aded::kernels
