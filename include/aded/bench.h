// Measurements the `aded bench` command reports: prompt processing and generation speed, the
// cost curve of the verifier (forward time vs batch size at a context depth), and the memory
// read bandwidth that bounds plain decoding.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "aded/model.h"

namespace aded {

struct Stat {
  double mean = 0, sd = 0, median = 0;
  static Stat of(std::vector<double> samples);
};

struct CostPoint {
  int n;
  double ms;         // median forward time
  double rel;        // ms / ms(n = 1)
  double layers_ms;  // median time of the same forward without any logits (the layers alone)
};

struct BenchOptions {
  int threads = 0;
  // Context size (0: just what the tests need); smaller than they need is an InputError.
  int n_ctx = 0;
  int repetitions = 5;
  int pp_tokens = 512;
  int tg_tokens = 128;
  std::vector<int> depths = {128};  // context depths of the cost curve (ascending, distinct)
  std::vector<int> cost_sizes = {1, 2, 4, 8, 16, 32, 64};
  int cost_repetitions = 15;
  // Time generation and the cost curve the way greedy decoding runs them: with the greedy head
  // (ContextOptions::greedy_head); false computes every logit of every row.
  bool greedy_head = true;
  TensorType cache_type_k = TensorType::F16, cache_type_v = TensorType::F16;  // ContextOptions
  std::function<void(const std::string&)> progress;
};

// The cost curve on top of `depth` cached tokens.
struct DepthCostCurve {
  int depth;
  std::vector<CostPoint> points;
};

struct BenchResult {
  Stat pp_tps, tg_tps;
  double bandwidth_gbps = 0;
  uint64_t weight_bytes = 0;
  double bandwidth_limit_tps = 0;
  std::vector<DepthCostCurve> cost_curves;  // one per depth of BenchOptions::depths, in order
  int threads = 0;
};

BenchResult run_bench(const std::shared_ptr<const Model>& model, const BenchOptions& options);

// Best-of-several read bandwidth of a buffer much larger than the caches, with `threads` threads.
double measure_read_bandwidth_gbps(int threads);

}  // namespace aded
