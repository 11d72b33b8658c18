#include "core/kernels/packing.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <thread>

#include <sys/mman.h>
#include <vector>

#include "aded/error.h"
#include "core/quant/blocks.h"

namespace aded::kernels {

PackFormat pack_format(TensorType type) {
  switch (type) {
    case TensorType::F32: return PackFormat::F32x16;
    case TensorType::F16: return PackFormat::F16x16;
    case TensorType::BF16: return PackFormat::BF16x16;
    case TensorType::Q8_0: case TensorType::Q5_0: return PackFormat::Q8x16;
    case TensorType::Q4_0: return PackFormat::Q4x16;
    default: return PackFormat::None;
  }
}

int pack_offset(TensorType type) {
  switch (type) {
    case TensorType::Q8_0: return 128;
    case TensorType::Q5_0: return 16;
    case TensorType::Q4_0: return 8;
    default: return 0;
  }
}

size_t packed_block_bytes(PackFormat format) {
  switch (format) {
    case PackFormat::Q8x16: return 32 + 8 * 64;
    case PackFormat::Q4x16: return 32 + 4 * 64;
    default: return 0;
  }
}

size_t packed_group_bytes(PackFormat format, int64_t K) {
  const auto k = static_cast<size_t>(K);
  switch (format) {
    case PackFormat::F32x16: return k * kPackRows * 4;
    case PackFormat::F16x16: case PackFormat::BF16x16: return k * kPackRows * 2;
    case PackFormat::Q8x16: case PackFormat::Q4x16: return k / 32 * packed_block_bytes(format);
    case PackFormat::None: break;
  }
  throw Error("packed_group_bytes: no packed format");
}

namespace {

// Element-wise formats: element k of lane r at (k * 16 + r) * bytes.
void pack_elements(const uint8_t* rows, size_t row_bytes, int count, int64_t K, size_t bytes, uint8_t* out) {
  for (int r = 0; r < count; ++r) {
    const uint8_t* src = rows + static_cast<size_t>(r) * row_bytes;
    for (int64_t k = 0; k < K; ++k)
      std::memcpy(out + (static_cast<size_t>(k) * kPackRows + static_cast<size_t>(r)) * bytes, src + static_cast<size_t>(k) * bytes, bytes);
  }
}

// The 32 unsigned stored values (true value + offset) and the f16 scale of one block.
void block_values(TensorType type, const uint8_t* block, uint8_t values[32], uint16_t& scale) {
  using namespace quant;
  if (type == TensorType::Q8_0) {
    const auto* b = reinterpret_cast<const BlockQ8_0*>(block);
    scale = b->d;
    for (int i = 0; i < 32; ++i) values[i] = static_cast<uint8_t>(b->qs[i] + 128);
  } else {  // Q5_0
    const auto* b = reinterpret_cast<const BlockQ5_0*>(block);
    scale = b->d;
    uint32_t qh;
    std::memcpy(&qh, b->qh, 4);
    for (int j = 0; j < 16; ++j) {
      values[j] = static_cast<uint8_t>((b->qs[j] & 0xF) | (((qh >> j) & 1u) << 4));
      values[j + 16] = static_cast<uint8_t>((b->qs[j] >> 4) | (((qh >> (j + 16)) & 1u) << 4));
    }
  }
}

void pack_q8(TensorType type, const uint8_t* rows, size_t row_bytes, int count, int64_t K, uint8_t* out) {
  const size_t block_bytes = static_cast<size_t>(tensor_type_info(type).block_bytes);
  const size_t stride = packed_block_bytes(PackFormat::Q8x16);
  const int offset = pack_offset(type);
  for (int64_t b = 0; b < K / 32; ++b) {
    uint8_t* dst = out + static_cast<size_t>(b) * stride;
    // Rows past the matrix: scale 0 and values equal to the offset (true value 0).
    std::memset(dst, 0, 32);
    std::memset(dst + 32, offset, 8 * 64);
    for (int r = 0; r < count; ++r) {
      uint8_t values[32];
      uint16_t scale;
      block_values(type, rows + static_cast<size_t>(r) * row_bytes + static_cast<size_t>(b) * block_bytes, values, scale);
      std::memcpy(dst + 2 * r, &scale, 2);
      for (int i = 0; i < 8; ++i) std::memcpy(dst + 32 + 64 * i + 4 * r, values + 4 * i, 4);
    }
  }
}

void pack_q4(const uint8_t* rows, size_t row_bytes, int count, int64_t K, uint8_t* out) {
  const size_t stride = packed_block_bytes(PackFormat::Q4x16);
  for (int64_t b = 0; b < K / 32; ++b) {
    uint8_t* dst = out + static_cast<size_t>(b) * stride;
    std::memset(dst, 0, 32);
    std::memset(dst + 32, 0x88, 4 * 64);  // both nibbles 8: true value 0
    for (int r = 0; r < count; ++r) {
      const auto* blk = reinterpret_cast<const quant::BlockQ4_0*>(rows + static_cast<size_t>(r) * row_bytes) + b;
      std::memcpy(dst + 2 * r, &blk->d, 2);
      for (int p = 0; p < 4; ++p) std::memcpy(dst + 32 + 64 * p + 4 * r, blk->qs + 4 * p, 4);
    }
  }
}

}  // namespace

void pack_group(TensorType type, const uint8_t* rows, size_t row_bytes, int count, int64_t K, uint8_t* out) {
  const PackFormat format = pack_format(type);
  const size_t bytes = packed_group_bytes(format, K);
  switch (format) {
    case PackFormat::F32x16: case PackFormat::F16x16: case PackFormat::BF16x16:
      if (count < kPackRows) std::memset(out, 0, bytes);
      pack_elements(rows, row_bytes, count, K, format == PackFormat::F32x16 ? 4 : 2, out);
      return;
    case PackFormat::Q8x16: return pack_q8(type, rows, row_bytes, count, K, out);
    case PackFormat::Q4x16: return pack_q4(rows, row_bytes, count, K, out);
    case PackFormat::None: break;
  }
  throw Error("pack_group: the type has no packed format");
}

namespace {

void unpack_q8(TensorType type, const uint8_t* group, int lane, int64_t K, uint8_t* row) {
  using namespace quant;
  const size_t stride = packed_block_bytes(PackFormat::Q8x16);
  const int offset = pack_offset(type);
  for (int64_t b = 0; b < K / 32; ++b) {
    const uint8_t* src = group + static_cast<size_t>(b) * stride;
    uint8_t values[32];
    for (int i = 0; i < 8; ++i) std::memcpy(values + 4 * i, src + 32 + 64 * i + 4 * lane, 4);
    if (type == TensorType::Q8_0) {
      auto* blk = reinterpret_cast<BlockQ8_0*>(row) + b;
      std::memcpy(&blk->d, src + 2 * lane, 2);
      for (int i = 0; i < 32; ++i) blk->qs[i] = static_cast<int8_t>(values[i] - offset);
    } else {  // Q5_0: low nibbles in qs, the fifth bits in qh
      auto* blk = reinterpret_cast<BlockQ5_0*>(row) + b;
      std::memcpy(&blk->d, src + 2 * lane, 2);
      uint32_t qh = 0;
      for (int j = 0; j < 16; ++j) {
        blk->qs[j] = static_cast<uint8_t>((values[j] & 0xF) | ((values[j + 16] & 0xF) << 4));
        qh |= static_cast<uint32_t>(values[j] >> 4) << j;
        qh |= static_cast<uint32_t>(values[j + 16] >> 4) << (j + 16);
      }
      std::memcpy(blk->qh, &qh, 4);
    }
  }
}

void unpack_q4(const uint8_t* group, int lane, int64_t K, uint8_t* row) {
  const size_t stride = packed_block_bytes(PackFormat::Q4x16);
  for (int64_t b = 0; b < K / 32; ++b) {
    const uint8_t* src = group + static_cast<size_t>(b) * stride;
    auto* blk = reinterpret_cast<quant::BlockQ4_0*>(row) + b;
    std::memcpy(&blk->d, src + 2 * lane, 2);
    for (int p = 0; p < 4; ++p) std::memcpy(blk->qs + 4 * p, src + 32 + 64 * p + 4 * lane, 4);
  }
}

}  // namespace

void unpack_row(TensorType type, const uint8_t* group, int lane, int64_t K, uint8_t* row) {
  switch (pack_format(type)) {
    case PackFormat::F32x16: case PackFormat::F16x16: case PackFormat::BF16x16: {
      const size_t bytes = pack_format(type) == PackFormat::F32x16 ? 4 : 2;
      for (int64_t k = 0; k < K; ++k)
        std::memcpy(row + static_cast<size_t>(k) * bytes,
                    group + (static_cast<size_t>(k) * kPackRows + static_cast<size_t>(lane)) * bytes, bytes);
      return;
    }
    case PackFormat::Q8x16: return unpack_q8(type, group, lane, K, row);
    case PackFormat::Q4x16: return unpack_q4(group, lane, K, row);
    case PackFormat::None: break;
  }
  throw Error("unpack_row: the type has no packed format");
}

void unpack_matrix_row(TensorType type, const uint8_t* packed, int64_t K, int64_t r, uint8_t* row) {
  unpack_row(type, packed + static_cast<size_t>(r / kPackRows) * packed_group_bytes(pack_format(type), K),
             static_cast<int>(r % kPackRows), K, row);
}

size_t packed_matrix_bytes(TensorType type, int64_t rows, int64_t cols) {
  const PackFormat format = pack_format(type);
  if (format == PackFormat::None) return 0;
  return packed_group_bytes(format, cols) * static_cast<size_t>((rows + kPackRows - 1) / kPackRows);
}

uint8_t* kernel_scratch(int slot, size_t bytes) {
  struct Buffer {
    std::unique_ptr<uint8_t, void (*)(void*)> data{nullptr, std::free};
    size_t size = 0;
  };
  thread_local Buffer buffers[4];
  if (slot < 0 || slot >= 4) throw Error("kernel_scratch: bad slot");
  Buffer& b = buffers[slot];
  if (b.size < bytes) {
    const size_t size = (bytes + 63) / 64 * 64;
    b.data.reset(static_cast<uint8_t*>(std::aligned_alloc(64, size)));
    if (!b.data) throw std::bad_alloc();
    b.size = size;
  }
  return b.data.get();
}

void PackedWeights::Free::operator()(uint8_t* p) const { std::free(p); }

PackedWeights::PackedWeights(TensorType type, const uint8_t* data, size_t row_bytes, int64_t rows, int64_t cols) {
  const PackFormat format = pack_format(type);
  if (format == PackFormat::None) throw Error("PackedWeights: the type has no packed format");
  group_bytes_ = packed_group_bytes(format, cols);
  groups_ = (rows + kPackRows - 1) / kPackRows;
  // Big buffers on 2 MB boundaries, marked for transparent huge pages: a forward streams through
  // all of them, and with 4 KB pages the TLB misses on every page.
  constexpr size_t kHuge = size_t{2} << 20;
  const size_t bytes = group_bytes_ * static_cast<size_t>(groups_);
  const size_t align = bytes >= kHuge ? kHuge : 64;
  const size_t total = std::max<size_t>((bytes + align - 1) / align * align, align);
  data_.reset(static_cast<uint8_t*>(std::aligned_alloc(align, total)));
  if (!data_) throw std::bad_alloc();
  if (align == kHuge) madvise(data_.get(), total, MADV_HUGEPAGE);
  // Big matrices are packed by two threads: loading a 1B model packs gigabytes.
  const auto pack_range = [&](int64_t g0, int64_t g1) {
    for (int64_t g = g0; g < g1; ++g) {
      const int64_t r0 = g * kPackRows;
      const int count = static_cast<int>(std::min<int64_t>(kPackRows, rows - r0));
      pack_group(type, data + static_cast<size_t>(r0) * row_bytes, row_bytes, count, cols,
                 data_.get() + static_cast<size_t>(g) * group_bytes_);
    }
  };
  if (bytes < (size_t{32} << 20)) {
    pack_range(0, groups_);
  } else {
    std::thread helper(pack_range, groups_ / 2, groups_);
    pack_range(0, groups_ / 2);
    helper.join();
  }
}

}  // namespace aded::kernels
