// find_non_finite_weight: every element of a float matrix, the f16 scale (and minimum) of every
// block of a quantized one, for each type the engine computes with.
#include "model/weight_check.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "aded/half.h"
#include "core/quant/blocks.h"
#include "core/quant/quant.h"

namespace aded {
namespace {

constexpr int64_t kRows = 5, kCols = 512;

struct TestMatrix {
  std::vector<uint8_t> bytes;
  Matrix m;
  explicit TestMatrix(TensorType type) {
    const size_t row = *row_bytes(type, kCols);
    bytes.resize(row * kRows);
    std::vector<float> values(kCols);
    for (int64_t r = 0; r < kRows; ++r) {
      for (int64_t k = 0; k < kCols; ++k) values[static_cast<size_t>(k)] = std::sin(static_cast<float>(r * kCols + k));
      quant::quantize_row(type, values.data(), bytes.data() + static_cast<size_t>(r) * row, kCols);
    }
    m = {"w", type, bytes.data(), kRows, kCols, row};
  }
  // The matrix over this object's bytes (wherever a copy put them).
  Matrix matrix() {
    m.data = bytes.data();
    return m;
  }
  uint8_t* at(int64_t row, size_t offset) { return bytes.data() + static_cast<size_t>(row) * m.row_bytes + offset; }
};

TEST(WeightCheck, FloatMatricesElementByElement) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  for (const TensorType type : {TensorType::F32, TensorType::F16, TensorType::BF16}) {
    SCOPED_TRACE(tensor_type_name(type));
    EXPECT_FALSE(find_non_finite_weight(TestMatrix(type).matrix()));
    for (const float bad : {nan, inf, -inf}) {
      for (const auto& [row, col] : {std::pair<int64_t, int64_t>{0, 0}, {3, 17}, {4, kCols - 1}}) {
        TestMatrix t(type);
        const size_t size = type == TensorType::F32 ? 4 : 2;
        const uint32_t f32 = std::bit_cast<uint32_t>(bad);
        const uint16_t h = type == TensorType::F16 ? float_to_half(bad) : float_to_bf16(bad);
        std::memcpy(t.at(row, static_cast<size_t>(col) * size), size == 4 ? static_cast<const void*>(&f32) : &h, size);
        const auto found = find_non_finite_weight(t.matrix());
        ASSERT_TRUE(found.has_value());
        EXPECT_EQ(found->row, row);
        EXPECT_EQ(found->column, col);
        EXPECT_EQ(std::isnan(found->value), std::isnan(bad));
      }
    }
    // The largest finite values are fine.
    TestMatrix t(type);
    const float big = type == TensorType::F16 ? 65504.0f : std::numeric_limits<float>::max();
    const uint32_t f32 = std::bit_cast<uint32_t>(big);
    const uint16_t h = type == TensorType::F16 ? float_to_half(big) : uint16_t{0x7F7F};  // bf16's largest
    std::memcpy(t.at(1, 8), type == TensorType::F32 ? static_cast<const void*>(&f32) : &h, type == TensorType::F32 ? 4 : 2);
    EXPECT_FALSE(find_non_finite_weight(t.matrix()));
  }
}

struct QuantCase {
  TensorType type;
  size_t block_bytes, block_elements;
  std::vector<size_t> scale_offsets;  // the f16 fields of a block
};

TEST(WeightCheck, QuantizedMatricesByTheirBlockScales) {
  using namespace quant;
  const QuantCase cases[] = {
      {TensorType::Q8_0, sizeof(BlockQ8_0), QK, {offsetof(BlockQ8_0, d)}},
      {TensorType::Q4_0, sizeof(BlockQ4_0), QK, {offsetof(BlockQ4_0, d)}},
      {TensorType::Q5_0, sizeof(BlockQ5_0), QK, {offsetof(BlockQ5_0, d)}},
      {TensorType::Q4_1, sizeof(BlockQ4_1), QK, {offsetof(BlockQ4_1, d), offsetof(BlockQ4_1, m)}},
      {TensorType::Q5_1, sizeof(BlockQ5_1), QK, {offsetof(BlockQ5_1, d), offsetof(BlockQ5_1, m)}},
      {TensorType::Q4_K, sizeof(BlockQ4_K), QK_K, {offsetof(BlockQ4_K, d), offsetof(BlockQ4_K, dmin)}},
      {TensorType::Q5_K, sizeof(BlockQ5_K), QK_K, {offsetof(BlockQ5_K, d), offsetof(BlockQ5_K, dmin)}},
      {TensorType::Q6_K, sizeof(BlockQ6_K), QK_K, {offsetof(BlockQ6_K, d)}},
  };
  for (const QuantCase& c : cases) {
    SCOPED_TRACE(tensor_type_name(c.type));
    // Q4_1 and Q5_1 have no quantizer here: zero blocks are valid ones.
    const bool zeros = !quant::can_quantize(c.type);
    auto make = [&] {
      if (!zeros) return TestMatrix(c.type);
      TestMatrix t(TensorType::Q8_0);
      t.m.type = c.type;
      t.m.row_bytes = *row_bytes(c.type, kCols);
      t.bytes.assign(t.m.row_bytes * kRows, 0);
      return t;
    };
    EXPECT_FALSE(find_non_finite_weight(make().matrix()));
    for (const size_t field : c.scale_offsets) {
      for (const uint16_t bad : {uint16_t{0x7C00}, uint16_t{0xFC00}, uint16_t{0x7E00}, uint16_t{0x7C01}}) {
        TestMatrix t = make();
        const size_t block = 1;
        std::memcpy(t.at(2, block * c.block_bytes + field), &bad, 2);
        const auto found = find_non_finite_weight(t.matrix());
        ASSERT_TRUE(found.has_value()) << field << " " << bad;
        EXPECT_EQ(found->row, 2);
        EXPECT_EQ(found->column, static_cast<int64_t>(block * c.block_elements));
        EXPECT_FALSE(std::isfinite(found->value));
      }
    }
  }
}

}  // namespace
}  // namespace aded
