// The kernels' contract (src/core/kernels/kernels.h): every table gives bitwise the same result
// as the scalar one, whatever the batch size or the slice of output rows; and the quantized
// products stay within a stated tolerance of an exact product of the dequantized weights.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>

#include "aded/half.h"
#include "aded/tensor_type.h"
#include "core/kernels/canonical_exp.h"
#include "core/kernels/kernels.h"
#include "core/kernels/packing.h"
#include "core/quant/quant.h"

namespace aded::kernels {
namespace {

struct Problem {
  TensorType type;
  int64_t N, K;
  int n;
  std::vector<uint8_t> w;
  std::vector<float> x;        // n x K
  std::vector<uint8_t> input;  // prepared
  size_t w_stride = 0, x_stride = 0;
};

Problem make_problem(TensorType type, int64_t N, int64_t K, int n, uint32_t seed) {
  Problem p{type, N, K, n, {}, {}, {}};
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  p.w_stride = *row_bytes(type, K);
  p.w.resize(p.w_stride * static_cast<size_t>(N));
  std::vector<float> row(static_cast<size_t>(K));
  for (int64_t j = 0; j < N; ++j) {
    for (auto& v : row) v = dist(rng) * 0.05f;
    quant::quantize_row(type, row.data(), p.w.data() + static_cast<size_t>(j) * p.w_stride, K);
  }
  p.x.resize(static_cast<size_t>(n * K));
  for (auto& v : p.x) v = dist(rng);
  const InputFormat f = input_format(type);
  p.x_stride = input_row_bytes(f, K);
  p.input.resize(p.x_stride * static_cast<size_t>(n));
  if (f == InputFormat::F32) {
    for (int r = 0; r < n; ++r)
      std::memcpy(p.input.data() + static_cast<size_t>(r) * p.x_stride, p.x.data() + r * K, static_cast<size_t>(K) * 4);
  } else if (f == InputFormat::Q8) {
    scalar_kernels().quantize_q8(p.x.data(), static_cast<size_t>(K), n, K, p.input.data(), p.x_stride);
  } else {
    scalar_kernels().quantize_q8k(p.x.data(), static_cast<size_t>(K), n, K, p.input.data(), p.x_stride);
  }
  return p;
}

// packed: the weights packed ahead of time (as models do), or nullptr (tables pack on the fly).
std::vector<float> run(const KernelTable& kt, const Problem& p, int row0, int rows, int64_t j0, int64_t j1,
                       const PackedWeights* packed = nullptr) {
  std::vector<float> y(static_cast<size_t>(rows * p.N), NAN);
  MatMulArgs a{p.type, p.w.data(), p.w_stride, p.K, p.input.data() + static_cast<size_t>(row0) * p.x_stride,
               p.x_stride, rows, y.data(), static_cast<size_t>(p.N), packed ? packed->data() : nullptr};
  kt.matmul(a, j0, j1);
  return y;
}

std::unique_ptr<PackedWeights> pack(const Problem& p) {
  if (pack_format(p.type) == PackFormat::None) return nullptr;
  return std::make_unique<PackedWeights>(p.type, p.w.data(), p.w_stride, p.N, p.K);
}

// The SIMD tables (everything but the scalar one) this CPU runs.
std::vector<const KernelTable*> simd_tables() {
  auto t = available_kernels();
  t.erase(t.begin());
  return t;
}

const TensorType kTypes[] = {TensorType::F32,  TensorType::F16,  TensorType::BF16, TensorType::Q8_0,
                             TensorType::Q4_0, TensorType::Q5_0, TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K};

class KernelTypes : public ::testing::TestWithParam<TensorType> {};

TEST_P(KernelTypes, SimdMatchesScalarBitwise) {
  const auto tables = simd_tables();
  if (tables.empty()) GTEST_SKIP() << "no SIMD kernels on this CPU";
  // Row counts around the 16-row groups of the packed layout; batch sizes around every tile.
  for (int64_t N : {37, 64, 5}) {
    for (int n : {1, 2, 3, 4, 5, 7, 8, 9, 16, 33, 64, 70}) {
      const Problem p = make_problem(GetParam(), N, 512, n, static_cast<uint32_t>(n + N));
      const auto packed = pack(p);
      const auto a = run(scalar_kernels(), p, 0, n, 0, p.N);
      for (const KernelTable* kt : tables) {
        const auto b = run(*kt, p, 0, n, 0, p.N);
        ASSERT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * 4))
            << kt->name << " " << tensor_type_name(GetParam()) << " N=" << N << " n=" << n;
        if (!packed) continue;
        const auto c = run(*kt, p, 0, n, 0, p.N, packed.get());
        ASSERT_EQ(0, std::memcmp(a.data(), c.data(), a.size() * 4))
            << kt->name << " packed ahead " << tensor_type_name(GetParam()) << " N=" << N << " n=" << n;
      }
    }
  }
}

TEST_P(KernelTypes, OddWidthsMatchScalarBitwise) {
  // Float weights take any width (K = 36: llama2.c-sized toys); block types multiples of 32/256.
  const TensorType t = GetParam();
  const int64_t K = t == TensorType::F32 || t == TensorType::F16 || t == TensorType::BF16 ? 36 : tensor_type_info(t).block_size;
  for (const KernelTable* kt : simd_tables()) {
    for (int n : {1, 3, 9}) {
      const Problem p = make_problem(t, 19, K, n, 5);
      const auto packed = pack(p);
      const auto a = run(scalar_kernels(), p, 0, n, 0, p.N);
      const auto b = run(*kt, p, 0, n, 0, p.N, packed.get());
      ASSERT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * 4)) << kt->name << " " << tensor_type_name(t) << " n=" << n;
    }
  }
}

TEST_P(KernelTypes, EachRowIsIndependentOfTheBatchAndTheSlice) {
  for (const KernelTable* kt : available_kernels()) {
    const int n = 64;
    const Problem p = make_problem(GetParam(), 45, 256, n, 7);
    const auto packed = pack(p);
    const auto batched = run(*kt, p, 0, n, 0, p.N, packed.get());
    for (int r = 0; r < n; r += 5) {
      // Row r alone, computed in slices of output columns that start and end inside groups.
      std::vector<float> single(static_cast<size_t>(p.N));
      for (auto [j0, j1] : {std::pair<int64_t, int64_t>{0, 13}, {13, 14}, {14, 33}, {33, 45}}) {
        const auto part = run(*kt, p, r, 1, j0, j1, r % 2 ? packed.get() : nullptr);
        for (int64_t j = j0; j < j1; ++j) single[static_cast<size_t>(j)] = part[static_cast<size_t>(j)];
      }
      ASSERT_EQ(0, std::memcmp(single.data(), batched.data() + r * p.N, single.size() * 4))
          << kt->name << " " << tensor_type_name(GetParam()) << " row " << r;
    }
  }
}

// Tolerance: the kernels compute in float what this test computes in double from the same
// dequantized weights and (for Q8 inputs) the same dequantized activations: the difference is
// float rounding only, bounded by 1e-5 of sum|w x|. Against the unquantized activations, the Q8
// rounding adds at most sum_k |w_k| * d_block(k) / 2, which the test also checks.
TEST_P(KernelTypes, CloseToExactProductOfDequantizedWeights) {
  const Problem p = make_problem(GetParam(), 16, 1024, 3, 11);
  const auto y = run(best_kernels(), p, 0, p.n, 0, p.N);
  const InputFormat format = input_format(p.type);
  const bool q8 = format != InputFormat::F32;
  // The activation value and its rounding step, in either quantized format.
  const auto x_scale = [&](const uint8_t* in, int64_t k) {
    return format == InputFormat::Q8 ? q8_scales(in, p.K)[k / 32] : q8k_scales(in, p.K)[k / 256];
  };
  std::vector<float> w(static_cast<size_t>(p.K));
  for (int64_t j = 0; j < p.N; ++j) {
    quant::dequantize_row(p.type, p.w.data() + static_cast<size_t>(j) * p.w_stride, w.data(), p.K);
    for (int r = 0; r < p.n; ++r) {
      const uint8_t* in = p.input.data() + static_cast<size_t>(r) * p.x_stride;
      double exact = 0, exact_q = 0, scale = 0, q8_bound = 0;
      for (int64_t k = 0; k < p.K; ++k) {
        const double wk = w[static_cast<size_t>(k)], xk = p.x[static_cast<size_t>(r * p.K + k)];
        const double xq = q8 ? q8_values(in)[k] * static_cast<double>(x_scale(in, k)) : xk;
        exact += wk * xk;
        exact_q += wk * xq;
        scale += std::fabs(wk * xq);
        if (q8) q8_bound += std::fabs(wk) * x_scale(in, k) / 2;
      }
      const float got = y[static_cast<size_t>(r * p.N + j)];
      EXPECT_NEAR(got, exact_q, 1e-5 * scale) << tensor_type_name(p.type) << " j=" << j << " r=" << r;
      EXPECT_NEAR(got, exact, q8_bound + 1e-5 * scale) << tensor_type_name(p.type) << " j=" << j << " r=" << r;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, KernelTypes, ::testing::ValuesIn(kTypes),
                         [](const auto& param_info) { return std::string(tensor_type_name(param_info.param)); });

TEST(Kernels, Q8QuantizationIsTheSameInEveryTable) {
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 3.0f);
  const int64_t K = 4096;
  std::vector<float> x(static_cast<size_t>(K));
  for (auto& v : x) v = dist(rng);
  x[5] = 0;
  for (int i = 64; i < 96; ++i) x[static_cast<size_t>(i)] = 0;  // an all-zero block
  const size_t stride = input_row_bytes(InputFormat::Q8, K);
  std::vector<uint8_t> a(stride), b(stride);
  scalar_kernels().quantize_q8(x.data(), static_cast<size_t>(K), 1, K, a.data(), stride);
  for (const KernelTable* simd : simd_tables()) {
    simd->quantize_q8(x.data(), static_cast<size_t>(K), 1, K, b.data(), stride);
    // Values, scales and block sums.
    EXPECT_EQ(0, std::memcmp(a.data(), b.data(), static_cast<size_t>(K) + static_cast<size_t>(K / 32) * 8)) << simd->name;
  }
  int32_t sum = 0;
  for (int i = 0; i < 32; ++i) sum += q8_values(a.data())[32 * 3 + i];
  EXPECT_EQ(sum, q8_block_sums(a.data(), K)[3]);
  EXPECT_EQ(0, q8_block_sums(a.data(), K)[2]);  // the all-zero block
}

TEST(Kernels, PackedLayoutsPutOneRowInEachLane) {
  // F16x16: element k of row r at (16 k + r); rows past the matrix are zero.
  const Problem p = make_problem(TensorType::F16, 3, 64, 1, 9);
  const PackedWeights packed(p.type, p.w.data(), p.w_stride, p.N, p.K);
  ASSERT_EQ(packed.group_bytes(), size_t{16 * 64 * 2});
  uint16_t got, want;
  std::memcpy(&got, packed.data() + (16 * 5 + 2) * 2, 2);
  std::memcpy(&want, p.w.data() + 2 * p.w_stride + 5 * 2, 2);
  EXPECT_EQ(got, want);
  std::memcpy(&got, packed.data() + (16 * 5 + 7) * 2, 2);
  EXPECT_EQ(got, 0);
  // Q8x16: block b, chunk i, lane r: the bytes of elements 32b + 4i .. + 3, plus 128.
  const Problem q = make_problem(TensorType::Q8_0, 2, 64, 1, 9);
  const PackedWeights qp(q.type, q.w.data(), q.w_stride, q.N, q.K);
  const uint8_t* block1 = qp.data() + packed_block_bytes(PackFormat::Q8x16);
  const auto* src = q.w.data() + q.w_stride + 34;  // row 1, block 1
  EXPECT_EQ(0, std::memcmp(block1 + 2, src, 2));    // its f16 scale in lane 1
  for (int t = 0; t < 4; ++t)
    EXPECT_EQ(block1[32 + 64 * 3 + 4 * 1 + t], static_cast<uint8_t>(static_cast<int8_t>(src[2 + 12 + t]) + 128));
}

// aded repack stores packed groups in files; rows are read back from them (the scalar kernels,
// the greedy head's exact rows, quantizing a repacked file): unpack_row is pack_group's inverse,
// byte for byte, for every packed type and every lane of full and partial groups.
TEST(Kernels, UnpackRowGivesBackThePackedRows) {
  for (const TensorType type : {TensorType::F32, TensorType::F16, TensorType::BF16, TensorType::Q8_0,
                                TensorType::Q5_0, TensorType::Q4_0}) {
    SCOPED_TRACE(tensor_type_name(type));
    for (const int64_t rows : {int64_t{16}, int64_t{21}}) {
      const Problem p = make_problem(type, rows, 96, 1, 11);
      const PackedWeights packed(p.type, p.w.data(), p.w_stride, p.N, p.K);
      ASSERT_EQ(packed.bytes(), packed_matrix_bytes(type, rows, 96));
      std::vector<uint8_t> row(p.w_stride);
      for (int64_t r = 0; r < rows; ++r) {
        std::fill(row.begin(), row.end(), uint8_t{0xA5});
        unpack_row(type, packed.data() + static_cast<size_t>(r / kPackRows) * packed.group_bytes(),
                   static_cast<int>(r % kPackRows), p.K, row.data());
        EXPECT_EQ(0, std::memcmp(row.data(), p.w.data() + static_cast<size_t>(r) * p.w_stride, p.w_stride)) << "row " << r;
      }
    }
  }
  EXPECT_EQ(packed_matrix_bytes(TensorType::Q4_K, 16, 256), 0u);  // no packed layout
}

TEST(Kernels, DotAndAxpyMatchScalar) {
  for (const KernelTable* simd : simd_tables()) {
  std::mt19937 rng(5);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (int64_t n : {1, 7, 8, 63, 64, 128, 129}) {
    std::vector<float> a(static_cast<size_t>(n)), b(static_cast<size_t>(n));
    for (auto& v : a) v = dist(rng);
    for (auto& v : b) v = dist(rng);
    const float s = scalar_kernels().dot(a.data(), b.data(), n), v = simd->dot(a.data(), b.data(), n);
    EXPECT_EQ(0, std::memcmp(&s, &v, 4)) << n;
    auto y1 = b, y2 = b;
    scalar_kernels().axpy(0.37f, a.data(), y1.data(), n);
    simd->axpy(0.37f, a.data(), y2.data(), n);
    EXPECT_EQ(0, std::memcmp(y1.data(), y2.data(), y1.size() * 4)) << n;
  }
  }
}

TEST(Kernels, TheFastestTableIsChosen) {
  if (std::getenv("ADED_KERNELS")) GTEST_SKIP() << "ADED_KERNELS picks the table";
  EXPECT_EQ(&best_kernels(), available_kernels().back());
}

}  // namespace
}  // namespace aded::kernels

namespace aded::kernels {
namespace {

TEST(CanonicalExp, CloseToStdExpAndExactAtTheEdges) {
  double worst = 0;
  for (float x = -87.0f; x <= 88.0f; x += 0.0137f) {
    const double want = std::exp(static_cast<double>(x));
    worst = std::max(worst, std::fabs(canonical_exp(x) - want) / want);
  }
  EXPECT_LT(worst, 4e-7);
  EXPECT_EQ(canonical_exp(0.0f), 1.0f);
  EXPECT_EQ(canonical_exp(-100.0f), 0.0f);
  EXPECT_TRUE(std::isinf(canonical_exp(100.0f)));
  EXPECT_TRUE(std::isnan(canonical_exp(NAN)));
}

// Q8_0 caches: rows of three heads in 32-element blocks, the query's head in the middle
// (offset). Every table gives the scalar table's bits, alone and for many queries (those convert
// whole blocks), and the scalar table reads q * d: the same as an F32 cache of those values.
TEST(Kernels, AttentionOverQ8_0CachesFollowsTheRule) {
  std::mt19937 rng(23);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (int head_dim : {32, 64, 128}) {
    const size_t stride = 3 * static_cast<size_t>(head_dim), offset = static_cast<size_t>(head_dim);
    const int prefix = 150, cells_total = prefix + 20;
    std::vector<float> k(stride * cells_total), v(stride * cells_total);
    for (auto& x : k) x = dist(rng);
    for (auto& x : v) x = dist(rng);
    const size_t row_bytes = stride / 32 * 34;
    std::vector<uint8_t> kq(row_bytes * cells_total), vq(kq.size());
    std::vector<float> kd(k.size()), vd(v.size());  // what the blocks hold, as floats
    for (int c = 0; c < cells_total; ++c) {
      quant::quantize_row(TensorType::Q8_0, k.data() + c * stride, kq.data() + c * row_bytes, static_cast<int64_t>(stride));
      quant::quantize_row(TensorType::Q8_0, v.data() + c * stride, vq.data() + c * row_bytes, static_cast<int64_t>(stride));
      quant::dequantize_row(TensorType::Q8_0, kq.data() + c * row_bytes, kd.data() + c * stride, static_cast<int64_t>(stride));
      quant::dequantize_row(TensorType::Q8_0, vq.data() + c * row_bytes, vd.data() + c * stride, static_cast<int64_t>(stride));
    }
    std::vector<uint16_t> vh(v.size());
    for (size_t i = 0; i < v.size(); ++i) vh[i] = float_to_half(v[i]);
    for (const int count : {1, 5, 11, kMaxAttentionQueries}) {
      std::vector<float> q(static_cast<size_t>(count * head_dim));
      for (auto& x : q) x = dist(rng);
      std::vector<std::vector<int32_t>> own(static_cast<size_t>(count));
      for (int i = 0; i < count; ++i)
        for (int j = 0; j <= i % 4; ++j) own[static_cast<size_t>(i)].push_back(prefix + (i + 5 * j) % 20);
      std::vector<float> scores(static_cast<size_t>(count * cells_total));
      const auto run = [&](const KernelTable& t, const void* kp, TensorType kt_, const void* vp, TensorType vt) {
        std::vector<float> out(q.size(), NAN);
        std::vector<AttentionArgs> args;
        for (int i = 0; i < count; ++i)
          args.push_back({q.data() + i * head_dim, head_dim, kp, vp, stride, prefix, own[static_cast<size_t>(i)].data(),
                          own[static_cast<size_t>(i)].size(), scores.data() + i * cells_total, out.data() + i * head_dim,
                          kt_, vt, offset});
        t.attend_many(args.data(), count);
        return out;
      };
      const auto as_floats = run(scalar_kernels(), kd.data(), TensorType::F32, vd.data(), TensorType::F32);
      const auto want = run(scalar_kernels(), kq.data(), TensorType::Q8_0, vq.data(), TensorType::Q8_0);
      ASSERT_EQ(0, std::memcmp(want.data(), as_floats.data(), want.size() * 4)) << "scalar Q8_0 head_dim " << head_dim;
      const auto mixed = run(scalar_kernels(), kq.data(), TensorType::Q8_0, vh.data(), TensorType::F16);
      for (const KernelTable* kt : simd_tables()) {
        const auto got = run(*kt, kq.data(), TensorType::Q8_0, vq.data(), TensorType::Q8_0);
        ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * 4))
            << kt->name << " Q8_0 head_dim " << head_dim << " count " << count;
        const auto got_mixed = run(*kt, kq.data(), TensorType::Q8_0, vh.data(), TensorType::F16);
        ASSERT_EQ(0, std::memcmp(mixed.data(), got_mixed.data(), mixed.size() * 4))
            << kt->name << " Q8_0/F16 head_dim " << head_dim << " count " << count;
      }
    }
  }
}

// Soft-capping (Gemma 2): the weights are the softmax of cap * tanh(score / cap).
TEST(Kernels, SoftCappedAttentionWeighsByTheCappedScores) {
  constexpr int kHead = 8;
  const float q[kHead] = {3, -1, 2, 0.5f, 1, -2, 0, 4};
  std::vector<float> k(3 * kHead), v(3 * kHead);
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<float>(static_cast<int>(i % 7) - 3);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i) * 0.25f;
  const float cap = 3.0f;
  double weights[3], total = 0;
  for (int t = 0; t < 3; ++t) {
    double dot = 0;
    for (int i = 0; i < kHead; ++i) dot += q[i] * k[static_cast<size_t>(t * kHead + i)];
    weights[t] = std::exp(cap * std::tanh(dot / std::sqrt(double{kHead}) / cap));
    total += weights[t];
  }
  std::vector<float> scores(3), out(kHead);
  scalar_kernels().attend({q, kHead, k.data(), v.data(), kHead, 3, nullptr, 0, scores.data(), out.data(),
                           TensorType::F32, TensorType::F32, 0, cap});
  for (int i = 0; i < kHead; ++i) {
    double want = 0;
    for (int t = 0; t < 3; ++t) want += weights[t] / total * v[static_cast<size_t>(t * kHead + i)];
    EXPECT_NEAR(out[i], want, 1e-5) << i;
  }
}

// A query that starts at key `first` of the prefix (a sliding window) gets, in every table, bitwise
// what it gets when given only the keys it sees, as its own cells; and not what it gets from all.
TEST(Kernels, SlidingWindowAttendsToTheVisibleKeysOnly) {
  std::mt19937 rng(29);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (const KernelTable* kt : available_kernels()) {
    for (int head_dim : {8, 12, 64, 96, 256}) {
      const int prefix = 150, own = 3, total = prefix + own;
      const auto stride = static_cast<size_t>(head_dim);
      std::vector<float> q(stride), k(stride * total), v(stride * total);
      for (auto* vec : {&q, &k, &v})
        for (auto& x : *vec) x = dist(rng);
      const std::vector<int32_t> own_cells = {prefix, prefix + 2, prefix + 1};
      for (const int first : {1, 64, 97, prefix}) {
        std::vector<int32_t> visible;
        for (int c = first; c < prefix; ++c) visible.push_back(c);
        for (int32_t c : own_cells) visible.push_back(c);
        std::vector<float> scores(static_cast<size_t>(total)), windowed(stride), alone(stride), all(stride);
        for (const float cap : {0.0f, 1.5f}) {
          kt->attend({q.data(), head_dim, k.data(), v.data(), stride, prefix, own_cells.data(), own_cells.size(),
                      scores.data(), windowed.data(), TensorType::F32, TensorType::F32, 0, cap, first});
          kt->attend({q.data(), head_dim, k.data(), v.data(), stride, 0, visible.data(), visible.size(), scores.data(),
                      alone.data(), TensorType::F32, TensorType::F32, 0, cap});
          kt->attend({q.data(), head_dim, k.data(), v.data(), stride, prefix, own_cells.data(), own_cells.size(),
                      scores.data(), all.data(), TensorType::F32, TensorType::F32, 0, cap});
          EXPECT_EQ(0, std::memcmp(windowed.data(), alone.data(), stride * 4))
              << kt->name << " head_dim " << head_dim << " first " << first << " cap " << cap;
          EXPECT_NE(0, std::memcmp(windowed.data(), all.data(), stride * 4)) << kt->name << " first " << first;
        }
      }
    }
  }
}

TEST(Kernels, AttentionAndSwigluMatchScalarBitwise) {
  std::mt19937 rng(17);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (const KernelTable* kt : simd_tables()) {
    for (int head_dim : {8, 12, 24, 40, 48, 64, 80, 128, 136, 256}) {
      for (auto [prefix, own] : {std::pair<int, int>{0, 1}, {3, 2}, {37, 5}, {130, 0}}) {
        const int cells_total = prefix + 8;
        const size_t stride = static_cast<size_t>(head_dim) + 3;  // rows are not vector-aligned
        std::vector<float> q(static_cast<size_t>(head_dim)), k(stride * cells_total), v(stride * cells_total);
        for (auto* vec : {&q, &k, &v})
          for (auto& x : *vec) x = dist(rng) * 2.0f;
        std::vector<int32_t> cells;
        for (int i = 0; i < own; ++i) cells.push_back(prefix + (i * 3) % 8);
        const auto run_one = [&](const KernelTable& t) {
          std::vector<float> scores(static_cast<size_t>(cells_total + own)), out(static_cast<size_t>(head_dim));
          t.attend({q.data(), head_dim, k.data(), v.data(), stride, prefix, cells.data(), cells.size(), scores.data(), out.data()});
          return out;
        };
        const auto a = run_one(scalar_kernels()), b = run_one(*kt);
        ASSERT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * 4))
            << kt->name << " head_dim " << head_dim << " prefix " << prefix << " own " << own;
      }
    }
    // Several queries sharing the prefix (a batch or a draft tree, the heads of a GQA group), each
    // with its own cells, up to the most one call takes: attend_many gives what attend gives for
    // each alone.
    for (int head_dim : {16, 48, 64, 12, 8, 40, 128, 136}) {
      for (int prefix : {0, 5, 150}) {
        const size_t stride = static_cast<size_t>(head_dim) + 1;
        const int cells_total = prefix + 20;
        std::vector<float> k(stride * cells_total), v(stride * cells_total);
        for (auto& x : k) x = dist(rng);
        for (auto& x : v) x = dist(rng);
        for (const int count : {5, 11, kMaxAttentionQueries}) {
          std::vector<float> q(static_cast<size_t>(count * head_dim));
          for (auto& x : q) x = dist(rng) * 3.0f;
          std::vector<std::vector<int32_t>> own(static_cast<size_t>(count));
          for (int i = 0; i < count; ++i)
            for (int j = 0; j <= i % 5; ++j) own[static_cast<size_t>(i)].push_back(prefix + (i + 3 * j) % 20);
          std::vector<float> scores(static_cast<size_t>(count * (cells_total + 8)));
          std::vector<float> want(q.size()), got(q.size(), NAN);
          // The cache's types: F32, F16 (the same values rounded), and each mixed.
          std::vector<uint16_t> kh(k.size()), vh(v.size());
          for (size_t i = 0; i < k.size(); ++i) kh[i] = float_to_half(k[i]);
          for (size_t i = 0; i < v.size(); ++i) vh[i] = float_to_half(v[i]);
          for (auto [k_type, v_type] : {std::pair{TensorType::F32, TensorType::F32}, {TensorType::F16, TensorType::F16},
                                        {TensorType::F16, TensorType::F32}, {TensorType::F32, TensorType::F16}})
          for (const bool window : {false, true})  // each query from its own first key (sliding windows)
          for (const float cap : {0.0f, 2.5f}) {  // Gemma 2's soft-capping, off and on
            const void* kp = k_type == TensorType::F16 ? static_cast<const void*>(kh.data()) : k.data();
            const void* vp = v_type == TensorType::F16 ? static_cast<const void*>(vh.data()) : v.data();
            std::vector<AttentionArgs> args;
            for (int i = 0; i < count; ++i)
              args.push_back({q.data() + i * head_dim, head_dim, kp, vp, stride, prefix,
                              own[static_cast<size_t>(i)].data(), own[static_cast<size_t>(i)].size(),
                              scores.data() + i * (cells_total + 8), want.data() + i * head_dim, k_type, v_type, 0, cap,
                              window ? (i * 37 + 11) % (prefix + 1) : 0});
            for (const auto& a : args) scalar_kernels().attend(a);
            std::fill(got.begin(), got.end(), NAN);
            for (int i = 0; i < count; ++i) args[static_cast<size_t>(i)].out = got.data() + i * head_dim;
            kt->attend_many(args.data(), count);
            ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * 4))
                << kt->name << " attend_many head_dim " << head_dim << " prefix " << prefix << " count " << count
                << " types " << tensor_type_name(k_type) << "/" << tensor_type_name(v_type) << " cap " << cap
                << " window " << window;
          }
        }
      }
    }
    std::vector<float> gate(1003), up(1003);
    for (auto& x : gate) x = dist(rng) * 6.0f;
    for (auto& x : up) x = dist(rng);
    gate[7] = -95.0f;  // exp(95) overflows: silu is -0
    auto g1 = gate, g2 = gate;
    scalar_kernels().swiglu(g1.data(), up.data(), 1003);
    kt->swiglu(g2.data(), up.data(), 1003);
    EXPECT_EQ(0, std::memcmp(g1.data(), g2.data(), g1.size() * 4)) << kt->name;
    // GELU (gated and alone) and soft-capping: every lane as the scalar function.
    for (const float* u : std::initializer_list<const float*>{up.data(), nullptr}) {
      auto h1 = gate, h2 = gate;
      scalar_kernels().gelu_gate(h1.data(), u, 1003);
      kt->gelu_gate(h2.data(), u, 1003);
      EXPECT_EQ(0, std::memcmp(h1.data(), h2.data(), h1.size() * 4)) << kt->name << (u ? " gated" : " alone");
    }
    auto c1 = gate, c2 = gate;
    c1[3] = c2[3] = 1e30f;  // saturates at the cap
    c1[4] = c2[4] = -0.0f;
    scalar_kernels().soft_cap(c1.data(), c1.size(), 2.5f);
    kt->soft_cap(c2.data(), c2.size(), 2.5f);
    EXPECT_EQ(0, std::memcmp(c1.data(), c2.data(), c1.size() * 4)) << kt->name;
    EXPECT_EQ(c2[3], 2.5f);
  }
}

// canonical_tanh and canonical_gelu against the library's functions in double precision.
TEST(CanonicalExp, TanhAndGeluAreCloseToTheirDefinitions) {
  double worst_tanh = 0, worst_gelu = 0;
  for (float x = -20.0f; x <= 20.0f; x += 0.001953125f) {
    worst_tanh = std::max(worst_tanh, std::fabs(canonical_tanh(x) - std::tanh(static_cast<double>(x))));
    const double g = x;
    const double want = 0.5 * g * (1 + std::tanh(std::sqrt(2 / M_PI) * (g + 0.044715 * g * g * g)));
    worst_gelu = std::max(worst_gelu, std::fabs(canonical_gelu(x) - want) / std::max(1.0, std::fabs(want)));
  }
  EXPECT_LT(worst_tanh, 3e-7);
  EXPECT_LT(worst_gelu, 1e-6);
  EXPECT_EQ(canonical_tanh(100.0f), 1.0f);
  EXPECT_EQ(canonical_tanh(-100.0f), -1.0f);
  EXPECT_TRUE(std::signbit(canonical_tanh(-0.0f)));
  EXPECT_TRUE(std::isnan(canonical_tanh(NAN)));
}

}  // namespace
}  // namespace aded::kernels

namespace aded::kernels {
namespace {

// The greedy head's logit scans: every table finds the same maxima, the same finiteness and the
// same kept tokens (with -inf everywhere else), at every length (vector bodies and tails).
TEST(Kernels, LogitScansMatchScalar) {
  std::mt19937 rng(23);
  std::normal_distribution<float> dist(0.0f, 3.0f);
  for (const KernelTable* kt : simd_tables()) {
    for (int64_t n : {1, 7, 8, 15, 16, 17, 100, 32000}) {
      for (int special = 0; special < 4; ++special) {
        std::vector<float> y(static_cast<size_t>(n));
        for (auto& v : y) v = dist(rng);
        const auto at = static_cast<size_t>(n / 2);
        if (special == 1) y[at] = NAN;
        if (special == 2) y[at] = -INFINITY;
        if (special == 3) y[at] = 2e30f;
        float t0, m0, t1, m1;
        const bool f0 = scalar_kernels().scan_logits(y.data(), n, &t0, &m0);
        const bool f1 = kt->scan_logits(y.data(), n, &t1, &m1);
        EXPECT_EQ(f0, f1) << kt->name << " n " << n << " special " << special;
        EXPECT_EQ(f0, special == 0) << kt->name;
        EXPECT_EQ(t0, t1) << kt->name << " n " << n;
        EXPECT_EQ(m0, m1) << kt->name << " n " << n;
        EXPECT_FALSE(std::isnan(t1));
        const float cut = special == 1 ? 1.0f : t0 - 2.0f;
        auto a = y, b = y;
        std::vector<int32_t> ka(static_cast<size_t>(n)), kb(static_cast<size_t>(n));
        const int64_t na = scalar_kernels().keep_at_least(a.data(), n, cut, ka.data());
        const int64_t nb = kt->keep_at_least(b.data(), n, cut, kb.data());
        ASSERT_EQ(na, nb) << kt->name << " n " << n;
        ASSERT_GE(na, special == 1 ? 0 : 1);
        EXPECT_TRUE(std::equal(ka.begin(), ka.begin() + na, kb.begin())) << kt->name;
        EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * 4)) << kt->name;
        for (int64_t i = 0; i < na; ++i) EXPECT_GE(a[static_cast<size_t>(ka[static_cast<size_t>(i)])], cut);
      }
    }
  }
}

// The softmax denominator over kept tokens: every table adds the same terms in the same lanes
// (bitwise the scalar value), and the value is the sum a double-precision exp gives.
TEST(Kernels, SumExpAtMatchesScalarAndExp) {
  std::mt19937 rng(29);
  std::normal_distribution<float> dist(0.0f, 4.0f);
  std::vector<float> y(4096);
  for (auto& v : y) v = dist(rng);
  y[5] = -INFINITY;  // a token the scan dropped contributes nothing
  for (int64_t n : {0, 1, 7, 8, 9, 100, 1000}) {
    std::vector<int32_t> at(static_cast<size_t>(n));
    for (auto& a : at) a = static_cast<int32_t>(rng() % y.size());
    if (n > 3) at[3] = 5;
    const float shift = 9.5f;
    double reference = 0;
    for (int32_t a : at) reference += std::exp(static_cast<double>(y[static_cast<size_t>(a)]) - shift);
    const float s0 = scalar_kernels().sum_exp_at(y.data(), at.data(), n, shift);
    EXPECT_NEAR(s0, reference, 1e-5 * reference + 1e-30) << "n " << n;
    for (const KernelTable* kt : simd_tables()) {
      const float s1 = kt->sum_exp_at(y.data(), at.data(), n, shift);
      EXPECT_EQ(std::bit_cast<uint32_t>(s0), std::bit_cast<uint32_t>(s1)) << kt->name << " n " << n;
    }
  }
}

}  // namespace
}  // namespace aded::kernels
