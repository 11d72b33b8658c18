// Micro-benchmarks of the matrix kernels, one thread: FLOP/s and weight bytes/s per type and batch.
//   build/release/bin/aded_microbench --benchmark_filter=MatMul   (FmaPeak: the float roof they are read against)
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "core/cpu_features.h"
#include "core/kernels/kernels.h"
#include "core/kernels/packing.h"
#include "core/quant/quant.h"

namespace {

using aded::TensorType;
namespace k = aded::kernels;

void BM_MatMul(benchmark::State& state) {
  const auto type = static_cast<TensorType>(state.range(0));
  const int n = static_cast<int>(state.range(1));
  const int64_t N = state.range(2), K = state.range(3);
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  const size_t w_stride = *aded::row_bytes(type, K);
  std::vector<uint8_t> w(w_stride * static_cast<size_t>(N));
  std::vector<float> row(static_cast<size_t>(K));
  for (int64_t j = 0; j < N; ++j) {
    for (auto& v : row) v = dist(rng);
    aded::quant::quantize_row(type, row.data(), w.data() + static_cast<size_t>(j) * w_stride, K);
  }
  std::vector<float> x(static_cast<size_t>(n * K));
  for (auto& v : x) v = dist(rng);
  const auto& kt = k::best_kernels();
  const auto format = k::input_format(type);
  const size_t x_stride = k::input_row_bytes(format, K);
  std::vector<uint8_t> input(x_stride * static_cast<size_t>(n));
  if (format == k::InputFormat::Q8)
    kt.quantize_q8(x.data(), static_cast<size_t>(K), n, K, input.data(), x_stride);
  else if (format == k::InputFormat::Q8K)
    kt.quantize_q8k(x.data(), static_cast<size_t>(K), n, K, input.data(), x_stride);
  else
    for (int r = 0; r < n; ++r) std::memcpy(input.data() + r * x_stride, x.data() + r * K, static_cast<size_t>(K) * 4);
  std::vector<float> y(static_cast<size_t>(n * N));
  // Weights packed ahead of time, as a loaded model has them.
  std::unique_ptr<k::PackedWeights> packed;
  if (kt.uses_packed_weights && k::pack_format(type) != k::PackFormat::None)
    packed = std::make_unique<k::PackedWeights>(type, w.data(), w_stride, N, K);
  const k::MatMulArgs args{type, w.data(), w_stride, K, input.data(), x_stride, n, y.data(), static_cast<size_t>(N),
                           packed ? packed->data() : nullptr};
  for (auto _ : state) {
    kt.matmul(args, 0, N);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GFLOPs"] = benchmark::Counter(2.0 * static_cast<double>(N * K * n), benchmark::Counter::kIsIterationInvariantRate,
                                                benchmark::Counter::kIs1000);
  state.counters["wGBs"] = benchmark::Counter(static_cast<double>(w.size()), benchmark::Counter::kIsIterationInvariantRate,
                                              benchmark::Counter::kIs1000);
  state.SetLabel(std::string(aded::tensor_type_name(type)) + " " + kt.name);
}

void shapes(benchmark::internal::Benchmark* b) {
  for (auto type : {TensorType::F32, TensorType::F16, TensorType::Q8_0, TensorType::Q4_0, TensorType::Q4_K, TensorType::Q6_K})
    for (int n : {1, 4, 16, 64}) b->Args({static_cast<int64_t>(type), n, 2048, 768});
}

// Weights larger than the last-level cache: the product streams them from memory, as decoding does.
void dram_shapes(benchmark::internal::Benchmark* b) {
  for (auto type : {TensorType::F16, TensorType::Q8_0, TensorType::Q4_0})
    for (int n : {1, 16}) b->Args({static_cast<int64_t>(type), n, 65536, 768});
}

// The output matrix of code15M (32000 x 288; 37 MB in F32) at the batch sizes of tree verification.
void output_head_shapes(benchmark::internal::Benchmark* b) {
  for (auto type : {TensorType::F32, TensorType::Q8_0})
    for (int n : {1, 2, 4, 6, 8, 10, 12, 16}) b->Args({static_cast<int64_t>(type), n, 32000, 288});
}

// One thread's slice of a code15M layer product (w1 / w3: 768 x 288, split over two threads; 442 KB
// of F32, resident in L2) at the sizes of tree verification: what the verifier's cost curve is made of.
void layer_slice_shapes(benchmark::internal::Benchmark* b) {
  for (int n : {1, 4, 6, 8, 12, 16}) b->Args({static_cast<int64_t>(TensorType::F32), n, 384, 288});
}

// The same slices, but 32 different matrices in turn (14 MB of weights, one thread's share of
// code15M's layers): each product finds its weights in L3 or memory, as in a real forward, so the
// time shows how much of the weight stream the arithmetic of n rows hides.
void BM_MatMulLayerSliceStream(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  constexpr int64_t N = 384, K = 288;
  constexpr int kMatrices = 32;
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  const auto& kt = k::best_kernels();
  // Distinct weights per matrix, so that kernels which do not pack ahead stream them too.
  std::vector<std::vector<float>> w(kMatrices, std::vector<float>(static_cast<size_t>(N * K)));
  std::vector<std::unique_ptr<k::PackedWeights>> packed;
  for (auto& m : w) {
    for (auto& v : m) v = dist(rng);
    if (kt.uses_packed_weights)
      packed.push_back(std::make_unique<k::PackedWeights>(TensorType::F32, reinterpret_cast<const uint8_t*>(m.data()),
                                                          static_cast<size_t>(K) * 4, N, K));
  }
  std::vector<float> x(static_cast<size_t>(n * K)), y(static_cast<size_t>(n * N));
  for (auto& v : x) v = dist(rng);
  int i = 0;
  for (auto _ : state) {
    const auto m = static_cast<size_t>(i);
    const k::MatMulArgs args{TensorType::F32, reinterpret_cast<const uint8_t*>(w[m].data()), static_cast<size_t>(K) * 4, K,
                             reinterpret_cast<const uint8_t*>(x.data()), static_cast<size_t>(K) * 4, n, y.data(),
                             static_cast<size_t>(N), packed.empty() ? nullptr : packed[m]->data()};
    kt.matmul(args, 0, N);
    benchmark::DoNotOptimize(y.data());
    i = (i + 1) % kMatrices;
  }
  state.counters["GFLOPs"] = benchmark::Counter(2.0 * static_cast<double>(N * K * n), benchmark::Counter::kIsIterationInvariantRate,
                                                benchmark::Counter::kIs1000);
  state.counters["wGBs"] = benchmark::Counter(static_cast<double>(N * K * 4), benchmark::Counter::kIsIterationInvariantRate,
                                              benchmark::Counter::kIs1000);
}

// The core's peak float rate: 16 independent chains of 512-bit fma (no loads), the roof against
// which the GFLOPs of the products above are read.
__attribute__((target("avx512f"))) void BM_FmaPeak(benchmark::State& state) {
  if (!aded::cpu_features().avx512) {
    state.SkipWithError("no AVX-512");
    return;
  }
  constexpr int kChains = 16;
  constexpr int64_t kSteps = 1 << 16;
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(1.0f + static_cast<float>(i) * 1e-7f);
  const __m512 b = _mm512_set1_ps(0.9999999f), c = _mm512_set1_ps(1e-8f);
  for (auto _ : state) {
    for (int64_t s = 0; s < kSteps; ++s) {
#pragma GCC unroll 16
      for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], b, c);
    }
    benchmark::DoNotOptimize(acc);
  }
  state.counters["GFLOPs"] = benchmark::Counter(2.0 * 16 * kChains * static_cast<double>(kSteps),
                                                benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

// The greedy head's top-probability estimate: the softmax denominator over the tokens a scan kept
// (a flat code15M row keeps most of its 32000 tokens), by a kernel table (arg 0 scalar, 1 best)
// and, arg 2, by the loop of float std::exp it replaced.
void BM_SumExpAt(benchmark::State& state) {
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 3.0f);
  std::vector<float> y(32000);
  for (auto& v : y) v = dist(rng);
  std::vector<int32_t> at;
  for (int32_t i = 0; i < static_cast<int32_t>(y.size()); ++i)
    if (y[static_cast<size_t>(i)] > -3.0f) at.push_back(i);
  const k::KernelTable& kt = state.range(0) == 0 ? k::scalar_kernels() : k::best_kernels();
  for (auto _ : state) {
    double sum = 0;
    if (state.range(0) == 2) {
      for (int32_t a : at) sum += std::exp(y[static_cast<size_t>(a)] - 9.0f);
    } else {
      sum = kt.sum_exp_at(y.data(), at.data(), static_cast<int64_t>(at.size()), 9.0f);
    }
    benchmark::DoNotOptimize(sum);
  }
  state.counters["tokens"] = static_cast<double>(at.size());
}

BENCHMARK(BM_FmaPeak)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SumExpAt)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MatMul)->Apply(shapes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MatMul)->Apply(layer_slice_shapes)->Unit(benchmark::kMicrosecond)->Name("BM_MatMulLayerSlice");
BENCHMARK(BM_MatMulLayerSliceStream)->Arg(1)->Arg(4)->Arg(6)->Arg(8)->Arg(12)->Arg(16)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MatMul)->Apply(dram_shapes)->Unit(benchmark::kMicrosecond)->Name("BM_MatMulFromMemory");
BENCHMARK(BM_MatMul)->Apply(output_head_shapes)->Unit(benchmark::kMicrosecond)->Name("BM_MatMulOutputHead");

}  // namespace
