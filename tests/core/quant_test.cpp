// Quantization formats: hand-built blocks decode to the values the ggml layouts define, and
// quantize -> dequantize stays within each type's error budget.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "aded/half.h"
#include "core/quant/blocks.h"
#include "core/quant/quant.h"

namespace aded::quant {
namespace {

TEST(Quant, Q4_0LayoutLowNibblesFirst) {
  BlockQ4_0 b{};
  b.d = float_to_half(0.5f);
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>((j % 16) | ((15 - j) << 4));
  float y[32];
  dequantize_row(TensorType::Q4_0, &b, y, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 0.5f * static_cast<float>(j - 8));
    EXPECT_EQ(y[j + 16], 0.5f * static_cast<float>(15 - j - 8));
  }
}

TEST(Quant, Q5_0HighBitsFromQh) {
  BlockQ5_0 b{};
  b.d = float_to_half(1.0f);
  const uint32_t qh = 0x80000001u;  // element 0 and element 31 get their fifth bit
  std::memcpy(b.qh, &qh, 4);
  float y[32];
  dequantize_row(TensorType::Q5_0, &b, y, 32);
  EXPECT_EQ(y[0], 0.0f);     // 16 - 16
  EXPECT_EQ(y[1], -16.0f);   // 0 - 16
  EXPECT_EQ(y[31], 0.0f);
  EXPECT_EQ(y[16], -16.0f);
}

TEST(Quant, Q4_KSubBlockScalesAndMins) {
  BlockQ4_K b{};
  b.d = float_to_half(1.0f);
  b.dmin = float_to_half(1.0f);
  // Sub-block 0: scale 2, min 3; sub-block 5: scale 33 (needs the high bits), min 40.
  b.scales[0] = 2;
  b.scales[4] = 3;
  b.scales[9] = static_cast<uint8_t>((33 & 0xF) | ((40 & 0xF) << 4));
  b.scales[1] = static_cast<uint8_t>(b.scales[1] | ((33 >> 4) << 6));
  b.scales[5] = static_cast<uint8_t>(b.scales[5] | ((40 >> 4) << 6));
  for (auto& q : b.qs) q = 0x71;  // low nibble 1, high nibble 7
  float y[256];
  dequantize_row(TensorType::Q4_K, &b, y, 256);
  EXPECT_EQ(y[0], 2.0f * 1 - 3);  // sub-block 0 takes low nibbles of qs[0..31]
  EXPECT_EQ(y[32], 0.0f * 7 - 0);  // sub-block 1 (scale 0, min 0): high nibbles
  EXPECT_EQ(y[5 * 32], 33.0f * 7 - 40);  // sub-block 5: high nibbles of qs[64..95]
}

TEST(Quant, Q6_KGroupsOfSixteen) {
  BlockQ6_K b{};
  b.d = float_to_half(0.25f);
  for (int g = 0; g < 16; ++g) b.scales[g] = static_cast<int8_t>(g - 8);
  // Every 6-bit value 33 -> q = 1: low nibble 1 everywhere, high bits 2 (= 32 >> 4) everywhere.
  for (auto& v : b.ql) v = 0x11;
  for (auto& v : b.qh) v = 0xAA;
  float y[256];
  dequantize_row(TensorType::Q6_K, &b, y, 256);
  for (int e = 0; e < 256; ++e) EXPECT_EQ(y[e], 0.25f * static_cast<float>(e / 16 - 8)) << e;
}

struct Budget {
  TensorType type;
  double max_rms_error;  // relative to the rms of the input
};

class QuantRoundTrip : public ::testing::TestWithParam<Budget> {};

TEST_P(QuantRoundTrip, ErrorWithinBudget) {
  const auto [type, budget] = GetParam();
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  const int64_t n = 4096;
  std::vector<float> x(static_cast<size_t>(n)), y(static_cast<size_t>(n));
  for (auto& v : x) v = dist(rng);
  std::vector<uint8_t> q(*row_bytes(type, n));
  quantize_row(type, x.data(), q.data(), n);
  dequantize_row(type, q.data(), y.data(), n);
  double err = 0, ref = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    err += (x[i] - y[i]) * (x[i] - y[i]);
    ref += x[i] * x[i];
  }
  const double rel = std::sqrt(err / ref);
  EXPECT_LT(rel, budget) << tensor_type_name(type);
  EXPECT_GT(rel + 1e-12, budget / 1000) << "suspiciously exact for a lossy type";
}

// Budgets: about 1.5x the rms error of a uniform quantizer with the type's step.
INSTANTIATE_TEST_SUITE_P(Types, QuantRoundTrip,
                         ::testing::Values(Budget{TensorType::F16, 1e-3}, Budget{TensorType::BF16, 5e-3},
                                           Budget{TensorType::Q8_0, 1e-2}, Budget{TensorType::Q6_K, 4e-2},
                                           Budget{TensorType::Q5_0, 6e-2}, Budget{TensorType::Q4_0, 1.2e-1},
                                           Budget{TensorType::Q4_K, 1.2e-1}, Budget{TensorType::Q5_K, 6e-2}),
                         [](const auto& param_info) { return std::string(tensor_type_name(param_info.param.type)); });

TEST(Half, RoundTripsEveryHalf) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = half_to_float(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    EXPECT_EQ(float_to_half(f), h);
  }
}

}  // namespace
}  // namespace aded::quant
