// Row operations of the block: the batched RMS norm gives each row bitwise what the one-row
// version gives it, for every batch size around its block of eight rows and for row strides
// wider than the row.
#include "model/ops.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

namespace aded::ops {
namespace {

TEST(RmsNorm, RowsTogetherEqualRowsAlone) {
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 2.0f);
  for (int n : {1, 7, 64, 288}) {
    const size_t ld = static_cast<size_t>(n) + 5;
    std::vector<float> weight(static_cast<size_t>(n));
    for (auto& w : weight) w = dist(rng);
    for (int rows : {1, 7, 8, 9, 16, 17}) {
      std::vector<float> x(ld * static_cast<size_t>(rows)), together(x.size(), -1.0f), alone(x.size(), -1.0f);
      for (auto& v : x) v = dist(rng);
      rms_norm_rows(x.data(), ld, weight.data(), n, 1e-5f, rows, together.data(), ld);
      for (int r = 0; r < rows; ++r)
        rms_norm(x.data() + static_cast<size_t>(r) * ld, weight.data(), n, 1e-5f, alone.data() + static_cast<size_t>(r) * ld);
      ASSERT_EQ(std::memcmp(together.data(), alone.data(), x.size() * sizeof(float)), 0) << n << " wide, " << rows << " rows";
    }
  }
}

}  // namespace
}  // namespace aded::ops
