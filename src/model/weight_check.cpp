#include "model/weight_check.h"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstring>
#include <type_traits>

#include "aded/half.h"
#include "core/kernels/packing.h"
#include "core/quant/blocks.h"

namespace aded {

namespace {

template <typename Bits>
Bits load(const uint8_t* p) {
  Bits b;
  std::memcpy(&b, p, sizeof(b));
  return b;
}

// A float format is non-finite exactly when all its exponent bits are set (inf or NaN), that is
// when its bits without the sign, as a signed integer, are at least the exponent mask.
template <typename Bits, Bits kExponent>
bool non_finite(Bits b) {
  return (b & kExponent) == kExponent;
}

// The first non-finite element of a row of n floats of one format, or -1. The first loop is a
// max-reduction of the magnitudes' bits without an early exit, which compilers vectorize (pand,
// pmaxsw: 8 halves per instruction even on baseline x86-64); the second runs only for a damaged
// row.
template <typename Bits, Bits kExponent>
int64_t first_non_finite(const uint8_t* row, int64_t n) {
  using Signed = std::make_signed_t<Bits>;
  constexpr Bits kMagnitude = static_cast<Bits>(~Bits{0}) >> 1;
  Signed largest = 0;
  for (int64_t k = 0; k < n; ++k)
    largest = std::max(largest, static_cast<Signed>(load<Bits>(row + k * sizeof(Bits)) & kMagnitude));
  if (largest < static_cast<Signed>(kExponent)) return -1;
  for (int64_t k = 0; k < n; ++k)
    if (non_finite<Bits, kExponent>(load<Bits>(row + k * sizeof(Bits)))) return k;
  return -1;
}

constexpr uint16_t kF16Exponent = 0x7C00, kBF16Exponent = 0x7F80;
constexpr uint32_t kF32Exponent = 0x7F800000;

// Where a quantized block keeps its f16 scale and minimum (-1: none).
struct BlockScales {
  size_t block_bytes;
  int64_t elements;
  ptrdiff_t scale, minimum;
};

std::optional<BlockScales> block_scales(TensorType type) {
  using namespace quant;
  switch (type) {
    case TensorType::Q4_0: return BlockScales{sizeof(BlockQ4_0), QK, offsetof(BlockQ4_0, d), -1};
    case TensorType::Q4_1: return BlockScales{sizeof(BlockQ4_1), QK, offsetof(BlockQ4_1, d), offsetof(BlockQ4_1, m)};
    case TensorType::Q5_0: return BlockScales{sizeof(BlockQ5_0), QK, offsetof(BlockQ5_0, d), -1};
    case TensorType::Q5_1: return BlockScales{sizeof(BlockQ5_1), QK, offsetof(BlockQ5_1, d), offsetof(BlockQ5_1, m)};
    case TensorType::Q8_0: return BlockScales{sizeof(BlockQ8_0), QK, offsetof(BlockQ8_0, d), -1};
    case TensorType::Q4_K: return BlockScales{sizeof(BlockQ4_K), QK_K, offsetof(BlockQ4_K, d), offsetof(BlockQ4_K, dmin)};
    case TensorType::Q5_K: return BlockScales{sizeof(BlockQ5_K), QK_K, offsetof(BlockQ5_K, d), offsetof(BlockQ5_K, dmin)};
    case TensorType::Q6_K: return BlockScales{sizeof(BlockQ6_K), QK_K, offsetof(BlockQ6_K, d), -1};
    default: return std::nullopt;
  }
}

std::optional<NonFiniteWeight> check_float_rows(const Matrix& m) {
  for (int64_t r = 0; r < m.rows; ++r) {
    const uint8_t* row = m.data + static_cast<size_t>(r) * m.row_bytes;
    int64_t k = -1;
    float value = 0;
    switch (m.type) {
      case TensorType::F32:
        k = first_non_finite<uint32_t, kF32Exponent>(row, m.cols);
        if (k >= 0) value = std::bit_cast<float>(load<uint32_t>(row + k * 4));
        break;
      case TensorType::F16:
        k = first_non_finite<uint16_t, kF16Exponent>(row, m.cols);
        if (k >= 0) value = half_to_float(load<uint16_t>(row + k * 2));
        break;
      case TensorType::BF16:
        k = first_non_finite<uint16_t, kBF16Exponent>(row, m.cols);
        if (k >= 0) value = bf16_to_float(load<uint16_t>(row + k * 2));
        break;
      default: return std::nullopt;
    }
    if (k >= 0) return NonFiniteWeight{r, k, value};
  }
  return std::nullopt;
}

std::optional<NonFiniteWeight> check_block_scales(const Matrix& m, const BlockScales& b) {
  const int64_t blocks = m.cols / b.elements;
  for (int64_t r = 0; r < m.rows; ++r) {
    const uint8_t* row = m.data + static_cast<size_t>(r) * m.row_bytes;
    bool any = false;
    for (int64_t i = 0; i < blocks; ++i) {
      const uint8_t* block = row + static_cast<size_t>(i) * b.block_bytes;
      any |= non_finite<uint16_t, kF16Exponent>(load<uint16_t>(block + b.scale));
      if (b.minimum >= 0) any |= non_finite<uint16_t, kF16Exponent>(load<uint16_t>(block + b.minimum));
    }
    if (!any) continue;
    for (int64_t i = 0; i < blocks; ++i) {
      const uint8_t* block = row + static_cast<size_t>(i) * b.block_bytes;
      for (const ptrdiff_t field : {b.scale, b.minimum}) {
        if (field < 0) continue;
        const auto h = load<uint16_t>(block + field);
        if (non_finite<uint16_t, kF16Exponent>(h)) return NonFiniteWeight{r, i * b.elements, half_to_float(h)};
      }
    }
  }
  return std::nullopt;
}

// A matrix in the kernels' packed layout (from a file of aded repack): groups of 16 rows; float
// formats interleave the rows element by element, quantized ones keep the 16 rows' scales at the
// head of each block (src/core/kernels/packing.h). Rows past the matrix are zeros.
std::optional<NonFiniteWeight> check_packed(const Matrix& m) {
  using kernels::kPackRows;
  const kernels::PackFormat format = kernels::pack_format(m.type);
  const size_t group_bytes = kernels::packed_group_bytes(format, m.cols);
  const int64_t groups = (m.rows + kPackRows - 1) / kPackRows;
  for (int64_t g = 0; g < groups; ++g) {
    const uint8_t* group = m.packed + static_cast<size_t>(g) * group_bytes;
    const auto at = [&](int64_t lane, int64_t column, float value) {
      return NonFiniteWeight{g * kPackRows + lane, column, value};
    };
    int64_t i = -1;
    switch (format) {
      case kernels::PackFormat::F32x16:
        i = first_non_finite<uint32_t, kF32Exponent>(group, m.cols * kPackRows);
        if (i >= 0) return at(i % kPackRows, i / kPackRows, std::bit_cast<float>(load<uint32_t>(group + i * 4)));
        break;
      case kernels::PackFormat::F16x16:
        i = first_non_finite<uint16_t, kF16Exponent>(group, m.cols * kPackRows);
        if (i >= 0) return at(i % kPackRows, i / kPackRows, half_to_float(load<uint16_t>(group + i * 2)));
        break;
      case kernels::PackFormat::BF16x16:
        i = first_non_finite<uint16_t, kBF16Exponent>(group, m.cols * kPackRows);
        if (i >= 0) return at(i % kPackRows, i / kPackRows, bf16_to_float(load<uint16_t>(group + i * 2)));
        break;
      case kernels::PackFormat::Q8x16: case kernels::PackFormat::Q4x16: {
        const size_t stride = kernels::packed_block_bytes(format);
        for (int64_t b = 0; b < m.cols / 32; ++b) {
          const uint8_t* scales = group + static_cast<size_t>(b) * stride;
          i = first_non_finite<uint16_t, kF16Exponent>(scales, kPackRows);
          if (i >= 0) return at(i, b * 32, half_to_float(load<uint16_t>(scales + i * 2)));
        }
        break;
      }
      case kernels::PackFormat::None: return std::nullopt;
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<NonFiniteWeight> find_non_finite_weight(const Matrix& m) {
  if (!m.data && m.packed) return check_packed(m);
  if (const auto scales = block_scales(m.type)) return check_block_scales(m, *scales);
  return check_float_rows(m);
}

}  // namespace aded
