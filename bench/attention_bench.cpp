// Micro-benchmark of attend_many, one thread, every kernel table: `queries` queries of one kv head
// over a shared prefix of `prefix` cached keys plus a few own keys each (a draft tree's path), in
// a cache of 6 heads per cell: code15M's shape (head size 48), and the 1.1B's head size 64 deep
// in the context with the 8 query heads of its GQA group (8 queries: one token; 128: sixteen),
// its cache F32 or F16.
//   build/release/bin/aded_microbench --benchmark_filter=Attention
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "aded/half.h"
#include "core/kernels/kernels.h"

namespace {

namespace k = aded::kernels;

void BM_Attention(benchmark::State& state) {
  const auto tables = k::available_kernels();
  const size_t which = static_cast<size_t>(state.range(0));
  if (which >= tables.size()) {
    state.SkipWithError("no such kernel table on this CPU");
    return;
  }
  const k::KernelTable& kt = *tables[which];
  const int queries = static_cast<int>(state.range(1)), prefix = static_cast<int>(state.range(2));
  const int head_dim = static_cast<int>(state.range(3)), heads = 6;
  const size_t stride = static_cast<size_t>(head_dim * heads);
  const int cells = prefix + queries;
  std::mt19937 rng(5);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> kc(stride * static_cast<size_t>(cells)), vc(kc.size()),
      q(static_cast<size_t>(queries * head_dim));
  for (auto* v : {&kc, &vc, &q})
    for (auto& x : *v) x = dist(rng);
  // Query i sees the chain of the first i + 1 batch cells after the prefix (a draft chain).
  std::vector<int32_t> own(static_cast<size_t>(queries));
  for (int i = 0; i < queries; ++i) own[static_cast<size_t>(i)] = prefix + i;
  std::vector<float> scores(static_cast<size_t>(queries * cells)), out(q.size());
  // The cache as F32, or as F16 (range 4 = 1): keys and values rounded.
  const bool f16 = state.range(4) == 1;
  std::vector<uint16_t> kh(kc.size()), vh(vc.size());
  for (size_t i = 0; i < kc.size(); ++i) kh[i] = aded::float_to_half(kc[i]);
  for (size_t i = 0; i < vc.size(); ++i) vh[i] = aded::float_to_half(vc[i]);
  const aded::TensorType type = f16 ? aded::TensorType::F16 : aded::TensorType::F32;
  const void* keys = f16 ? static_cast<const void*>(kh.data()) : kc.data();
  const void* values = f16 ? static_cast<const void*>(vh.data()) : vc.data();
  std::vector<k::AttentionArgs> args;
  for (int i = 0; i < queries; ++i)
    args.push_back({q.data() + i * head_dim, head_dim, keys, values, stride, prefix, own.data(),
                    static_cast<size_t>(i + 1), scores.data() + i * cells, out.data() + i * head_dim,
                    type, type});
  for (auto _ : state) {
    kt.attend_many(args.data(), queries);
    benchmark::DoNotOptimize(out.data());
  }
  const double flops = 4.0 * head_dim * queries * (prefix + (queries + 1) / 2.0);
  state.counters["GFLOPs"] = benchmark::Counter(
      flops, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
  state.SetLabel(std::string(kt.name) + (f16 ? " F16 cache" : " F32 cache"));
}

void attention_shapes(benchmark::internal::Benchmark* b) {
  for (int table : {1, 2})
    for (int queries : {1, 8, 16})
      for (int prefix : {128, 384}) b->Args({table, queries, prefix, 48, 0});
  for (int f16 : {0, 1})
    for (int queries : {8, 128}) b->Args({2, queries, 4096, 64, f16});
}

BENCHMARK(BM_Attention)->Apply(attention_shapes)->Unit(benchmark::kMicrosecond);

}  // namespace
