// GreedyHead: the argmax found from the int8 copy plus exact candidates must be the argmax of the
// full float product, with the candidates' logits bitwise equal to the full product's, for every
// kernel table, float type and batch size, also where the top logits are (nearly) tied.
#include "model/greedy_head.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "core/quant/quant.h"

namespace aded {
namespace {

// The first index of the largest value, as the greedy sampler picks it.
int64_t first_argmax(const float* v, int64_t n) {
  int64_t at = 0;
  for (int64_t j = 1; j < n; ++j)
    if (v[j] > v[at]) at = j;
  return at;
}

struct Weights {
  std::vector<uint8_t> bytes;
  std::unique_ptr<kernels::PackedWeights> packed;
  Matrix m;
};

// V x K rows of `type`; rows listed in `copies` repeat row 0 exactly, the ones in `near` repeat it
// with one element nudged by one unit in the last place (near-ties at the top for x = row 0).
Weights make_weights(TensorType type, int64_t V, int64_t K, uint32_t seed, const kernels::KernelTable& kt,
                     std::vector<int64_t> copies = {}, std::vector<int64_t> near = {}) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.05f);
  Weights w;
  const size_t rb = *row_bytes(type, K);
  w.bytes.resize(rb * static_cast<size_t>(V));
  std::vector<float> row0(static_cast<size_t>(K)), row(static_cast<size_t>(K));
  for (auto& v : row0) v = dist(rng);
  for (int64_t j = 0; j < V; ++j) {
    if (j == 0 || std::find(copies.begin(), copies.end(), j) != copies.end()) {
      row = row0;
    } else if (std::find(near.begin(), near.end(), j) != near.end()) {
      row = row0;
      row[static_cast<size_t>(j % K)] = std::nextafter(row[static_cast<size_t>(j % K)], 1.0f);
    } else {
      for (auto& v : row) v = dist(rng);
    }
    quant::quantize_row(type, row.data(), w.bytes.data() + static_cast<size_t>(j) * rb, K);
  }
  w.m = Matrix{"output", type, w.bytes.data(), V, K, rb, nullptr};
  if (kt.uses_packed_weights) {
    w.packed = std::make_unique<kernels::PackedWeights>(type, w.bytes.data(), rb, V, K);
    w.m.packed = w.packed->data();
  }
  return w;
}

std::vector<float> full_logits(const Matrix& m, const kernels::KernelTable& kt, const std::vector<float>& x, int n) {
  std::vector<float> y(static_cast<size_t>(n * m.rows));
  const kernels::MatMulArgs args{m.type, m.data, m.row_bytes, m.cols, reinterpret_cast<const uint8_t*>(x.data()),
                                 static_cast<size_t>(m.cols) * sizeof(float), n, y.data(), static_cast<size_t>(m.rows),
                                 kt.uses_packed_weights ? m.packed : nullptr};
  kt.matmul(args, 0, m.rows);
  return y;
}

void expect_same_argmax(const Matrix& m, const kernels::KernelTable& kt, const std::vector<float>& x, int n,
                        ThreadPool& pool, const std::string& what, bool expect_narrow = true) {
  auto head = GreedyHead::build(m, kt);
  ASSERT_TRUE(head) << what;
  const auto full = full_logits(m, kt, x, n);
  std::vector<float> got(full.size());
  std::vector<int32_t> argmax(static_cast<size_t>(n), -7);
  head->project(pool, x.data(), static_cast<size_t>(m.cols), n, got.data(), static_cast<size_t>(m.rows), argmax.data());
  int64_t finite = 0;
  for (int r = 0; r < n; ++r) {
    const float* f = full.data() + static_cast<size_t>(r) * static_cast<size_t>(m.rows);
    const float* g = got.data() + static_cast<size_t>(r) * static_cast<size_t>(m.rows);
    EXPECT_EQ(first_argmax(g, m.rows), first_argmax(f, m.rows)) << what << ", row " << r;
    EXPECT_EQ(argmax[static_cast<size_t>(r)], first_argmax(f, m.rows)) << what << ", row " << r;
    for (int64_t j = 0; j < m.rows; ++j) {
      if (g[j] == -INFINITY) continue;
      ++finite;
      EXPECT_EQ(std::memcmp(&g[j], &f[j], sizeof(float)), 0) << what << ", row " << r << ", token " << j;
    }
  }
  // The int8 copy must actually narrow the search (otherwise the head only costs time).
  if (expect_narrow) {
    EXPECT_LT(finite, static_cast<int64_t>(n) * m.rows / 8) << what;
  }
  EXPECT_EQ(head->stats().rows, n) << what;
}

std::vector<float> random_rows(int n, int64_t K, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n * K));
  for (auto& v : x) v = dist(rng);
  return x;
}

TEST(GreedyHead, ArgmaxAndCandidateLogitsMatchTheFullProduct) {
  ThreadPool pool(2);
  for (const kernels::KernelTable* kt : kernels::available_kernels())
    for (TensorType type : {TensorType::F32, TensorType::F16, TensorType::BF16})
      for (int n : {1, 3, 17}) {
        const auto w = make_weights(type, 1000, 96, 5, *kt);
        const auto x = random_rows(n, 96, static_cast<uint32_t>(n));
        expect_same_argmax(w.m, *kt, x, n, pool,
                           std::string(kt->name) + " " + std::string(tensor_type_name(type)) + " n=" + std::to_string(n));
      }
}

TEST(GreedyHead, TiesAndNearTiesKeepTheFirstIndexOfTheMaximum) {
  ThreadPool pool(1);
  const kernels::KernelTable& kt = kernels::best_kernels();
  // x = row 0 makes row 0 (and its copies) the top logit; nudged copies differ in the last bits.
  const auto w = make_weights(TensorType::F32, 2000, 64, 9, kt, {700, 1500}, {3, 401, 1999});
  std::vector<float> x(reinterpret_cast<const float*>(w.bytes.data()), reinterpret_cast<const float*>(w.bytes.data()) + 64);
  for (auto& v : x) v *= 20.0f;
  expect_same_argmax(w.m, kt, x, 1, pool, "ties");
  // With row 0 negated the top moves elsewhere; the duplicates must not disturb it.
  for (auto& v : x) v = -v;
  expect_same_argmax(w.m, kt, x, 1, pool, "negated");
}

TEST(GreedyHead, RowsCloserThanTheInt8ErrorAreAllResolvedExactly) {
  // Every row is one row plus noise far below the int8 step, so the int8 logits order them
  // differently from the exact ones: only a sound bound keeps the exact argmax among the
  // candidates (a bound 50x too small fails here).
  ThreadPool pool(2);
  const kernels::KernelTable& kt = kernels::best_kernels();
  const int64_t V = 512, K = 96;
  std::mt19937 rng(11);
  std::normal_distribution<float> base(0.0f, 0.05f), noise(0.0f, 2e-5f);
  std::vector<float> row0(static_cast<size_t>(K)), rows(static_cast<size_t>(V * K));
  for (auto& v : row0) v = base(rng);
  for (int64_t j = 0; j < V; ++j)
    for (int64_t k = 0; k < K; ++k) rows[static_cast<size_t>(j * K + k)] = row0[static_cast<size_t>(k)] + noise(rng);
  Matrix m{"output", TensorType::F32, reinterpret_cast<const uint8_t*>(rows.data()), V, K, K * sizeof(float), nullptr};
  std::unique_ptr<kernels::PackedWeights> packed;
  if (kt.uses_packed_weights) {
    packed = std::make_unique<kernels::PackedWeights>(TensorType::F32, m.data, m.row_bytes, V, K);
    m.packed = packed->data();
  }
  const int n = 16;
  const auto x = random_rows(n, K, 4);
  expect_same_argmax(m, kt, x, n, pool, "near rows", false);
  // The int8 copy alone would have picked another token in some rows (so this case bites).
  auto head = GreedyHead::build(m, kt);
  const auto full = full_logits(m, kt, x, n);
  std::vector<uint8_t> q8(*row_bytes(TensorType::Q8_0, K) * static_cast<size_t>(V));
  for (int64_t j = 0; j < V; ++j)
    quant::quantize_row(TensorType::Q8_0, rows.data() + j * K, q8.data() + static_cast<size_t>(j) * (q8.size() / V), K);
  std::vector<uint8_t> xq(kernels::input_row_bytes(kernels::InputFormat::Q8, K) * n);
  kt.quantize_q8(x.data(), static_cast<size_t>(K), n, K, xq.data(), xq.size() / n);
  std::vector<float> approx(full.size());
  const kernels::MatMulArgs args{TensorType::Q8_0, q8.data(), q8.size() / V, K, xq.data(), xq.size() / n, n,
                                 approx.data(), static_cast<size_t>(V), nullptr};
  kernels::scalar_kernels().matmul(args, 0, V);
  int differ = 0;
  for (int r = 0; r < n; ++r)
    differ += first_argmax(approx.data() + r * V, V) != first_argmax(full.data() + r * V, V);
  EXPECT_GT(differ, 0);
}

TEST(GreedyHead, NonFiniteActivationsFallBackToTheFullProduct) {
  ThreadPool pool(1);
  const kernels::KernelTable& kt = kernels::best_kernels();
  const auto w = make_weights(TensorType::F32, 300, 32, 3, kt);
  auto head = GreedyHead::build(w.m, kt);
  ASSERT_TRUE(head);
  auto x = random_rows(1, 32, 1);
  x[5] = INFINITY;
  const auto full = full_logits(w.m, kt, x, 1);
  std::vector<float> got(full.size());
  int32_t argmax = -7;
  head->project(pool, x.data(), 32, 1, got.data(), 300, &argmax);
  EXPECT_EQ(head->stats().full_rows, 1);
  // As the sampler scans a row: the first index of the largest value, NaN never winning.
  float best = -INFINITY;
  int32_t at = 0;
  for (int32_t j = 0; j < 300; ++j)
    if (full[static_cast<size_t>(j)] > best) {
      best = full[static_cast<size_t>(j)];
      at = j;
    }
  EXPECT_EQ(argmax, at);
  EXPECT_EQ(std::memcmp(got.data(), full.data(), full.size() * sizeof(float)), 0);
}

TEST(GreedyHead, AppliesOnlyToFloatMatricesOfWholeBlocks) {
  const kernels::KernelTable& kt = kernels::best_kernels();
  EXPECT_FALSE(GreedyHead::build(make_weights(TensorType::Q8_0, 64, 64, 1, kt).m, kt));
  EXPECT_FALSE(GreedyHead::build(make_weights(TensorType::F32, 64, 48, 1, kt).m, kt));
  EXPECT_TRUE(GreedyHead::build(make_weights(TensorType::F16, 64, 64, 1, kt).m, kt));
}

}  // namespace
}  // namespace aded
