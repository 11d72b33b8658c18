// bench-spec's --plot: the chart of a run (../shared/docs/BENCH.md) — speedup over plain decoding and tokens
// per target forward, per prompt category and overall — drawn by the library's chart component.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "aded/plot.h"
#include "aded/spec_bench.h"

namespace aded::cli {

// What the chart's subtitle says about the run.
struct SpecBenchRunInfo {
  std::string model_path, prompts_path;
  size_t prompts = 0;
  int new_tokens = 0;
  int threads = 0;
  float temperature = 0;  // 0: greedy
};

Chart spec_bench_chart(const SpecBenchResult& result, const SpecBenchRunInfo& run);

// --regret-plot: for each method that chooses or joins drafters (select, auto, union) and for the
// best single method overall, the time lost against the best single method of each prompt's
// category (best by the category's tokens/s in this run), accumulated over the prompts in run
// order: in seconds, and as a share of the best methods' time so far. Needs a single method
// besides plain decoding and at least one that chooses; throws InputError otherwise.
Chart regret_chart(const SpecBenchResult& result, const SpecBenchRunInfo& run);

// Refuses a --plot file name without a supported extension before the benchmark runs.
CLI::Validator image_file_name();

}  // namespace aded::cli
