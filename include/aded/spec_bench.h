// The speculative-decoding benchmark protocol of ../shared/docs/BENCH.md: prompts from Spec-Bench or
// HumanEval jsonl files, every method run on every prompt (interleaved, so drift hits all alike),
// greedy unless told to sample, one warm-up prompt, every output of deterministic drafts compared
// with plain decoding.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "aded/context.h"
#include "aded/decoding.h"
#include "aded/speculator.h"

namespace aded {

struct BenchPrompt {
  std::string id;
  std::string category;
  std::string text;
};

// Reads a .jsonl or .jsonl.gz file; each line needs "turns" (first turn used) or "prompt";
// "category" and "question_id"/"task_id" are optional (a file without categories is one category,
// "all"; lines without one in a file that has them are "other").
// Throws InputError naming the file (and line) for anything else.
std::vector<BenchPrompt> read_bench_prompts(const std::string& path);
// The same from bytes in memory (name: for messages).
std::vector<BenchPrompt> parse_bench_prompts(std::span<const uint8_t> bytes, const std::string& name);

struct MethodTotals {
  int prompts = 0;
  int64_t tokens = 0, steps = 0, nodes_verified = 0, nodes_accepted = 0;
  double seconds = 0, decode_seconds = 0, draft_seconds = 0, verify_seconds = 0;
  bool identical = true;
  int64_t nodes_sampled = 0;  // drafts drawn from a drafter's distribution (then not identical)

  void add(const DecodingStats& s, double wall_seconds, bool same_as_plain);
  double tokens_per_second() const { return seconds > 0 ? static_cast<double>(tokens) / seconds : 0; }
  double decode_tokens_per_second() const;
  double tokens_per_step() const;
  // Of the draft nodes verified, the share the target accepted.
  double acceptance() const { return nodes_verified ? static_cast<double>(nodes_accepted) / static_cast<double>(nodes_verified) : 0; }
  double draft_ms_per_step() const { return steps ? 1e3 * draft_seconds / static_cast<double>(steps) : 0; }
  double verify_ms_per_step() const { return steps ? 1e3 * verify_seconds / static_cast<double>(steps) : 0; }
};

struct PromptResult {
  std::string id, category;
  std::map<std::string, MethodTotals> methods;
};

struct SpecBenchResult {
  std::vector<std::string> methods;
  std::vector<PromptResult> prompts;
  std::map<std::string, std::map<std::string, MethodTotals>> by_category;  // category -> method
  std::map<std::string, MethodTotals> overall;
  bool all_identical = true;               // every output of deterministic drafts was the plain one
  std::vector<std::string> mismatches;  // "prompt id: method"
};

struct MethodSetup {
  std::string name;
  std::unique_ptr<Speculator> speculator;  // nullptr for plain decoding
};

struct SpecBenchOptions {
  int max_new_tokens = 256;
  // Greedy by default. When sampling, methods whose drafts are deterministic must still give the
  // plain tokens (the position-keyed random stream); sampled drafts give another exact sample.
  SamplingParams sampling = greedy_sampling();
  static SamplingParams greedy_sampling() {
    SamplingParams s;
    s.temperature = 0;
    return s;
  }
  bool warmup = true;
  // Set to each prompt's plain output (prompt, then generated tokens) before the other methods
  // run on it: the reference oracle drafters follow (DrafterEnvironment::reference).
  std::shared_ptr<std::vector<int32_t>> reference;
  std::function<void(size_t done, size_t total, const std::string& what)> progress;
};

// methods[0] must be plain decoding ("none"): the reference every output is compared with.
SpecBenchResult run_spec_bench(Context& ctx, const Tokenizer& tokenizer, std::vector<MethodSetup>& methods,
                               const std::vector<BenchPrompt>& prompts, const SpecBenchOptions& options);

}  // namespace aded
