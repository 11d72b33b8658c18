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
};

Chart spec_bench_chart(const SpecBenchResult& result, const SpecBenchRunInfo& run);

// Refuses a --plot file name without a supported extension before the benchmark runs.
CLI::Validator image_file_name();

}  // namespace aded::cli
