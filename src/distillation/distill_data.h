// `aded distill-data`: the target writes responses to prompts and the distillation set keeps them
// with the target's distribution at every response position (distill_set.h). Each (prompt, sample)
// is one item with a seed of its own, so a rerun with the same output continues where the last
// one stopped and gives the same records as an uninterrupted run.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "aded/context.h"
#include "aded/sampler.h"
#include "distillation/distill_set.h"

namespace aded::distill {

struct Prompt {
  std::string id;
  std::string text;
};

// Prompts from files: a .jsonl or .jsonl.gz file holds one prompt a line (the bench tools' format:
// "prompt" or "turns"); any other file is one prompt, its whole text. Throws InputError naming the
// file for unreadable or empty input.
std::vector<Prompt> read_prompts(const std::vector<std::string>& files);

struct DataOptions {
  std::string target;  // GGUF model
  std::vector<std::string> prompt_files;
  std::string output;  // the set; an existing set made the same way is continued
  int samples_per_prompt = 1;
  float temperature = 0.8f;  // 0: greedy (then one sample per prompt is all there is)
  int top_k_probs = 32;
  int max_tokens = 128;
  uint64_t seed = 1;
  int threads = 0;
  double save_seconds = 30;  // the set is written again at least this often (and at the end)
};

struct DataProgress {
  size_t items_done = 0;   // this run
  size_t items_total = 0;  // this run's items (those not in the set already)
  uint64_t tokens = 0;     // response tokens this run
  double seconds = 0;
};

struct DataEvents {
  std::function<void(const std::string&)> log;
  std::function<void(const DataProgress&)> progress;
  std::function<bool()> stop_requested;  // checked between items: true saves and returns
};

struct DataReport {
  size_t records_before = 0;  // found in the output when the run started
  size_t records_added = 0;
  size_t prompts_too_long = 0;  // skipped: the prompt and max_tokens do not fit the context
  uint64_t tokens_added = 0;
  bool interrupted = false;
  double seconds = 0;
};

// XXH3 of a prompt's text: which prompt a record answers.
uint64_t prompt_key(const std::string& text);

// The sampling of distillation responses: the target's own distribution at `temperature`
// (nothing cut off by top-k, top-p or min-p); greedy at 0.
SamplingParams response_sampling(float temperature, uint64_t seed);
// The prompt followed by the target's response (at most max_tokens; an end-of-generation token
// ends it and is kept). The context must be empty; it is left empty.
std::vector<int32_t> target_response(Context& ctx, const std::vector<int32_t>& prompt_tokens,
                                     const SamplingParams& sampling, uint32_t max_tokens);

// One item: the target's response to `prompt_tokens` (sampled with the item's seed) and the
// distributions at its positions. The context must be empty; it is left empty.
Record make_record(Context& ctx, const std::vector<int32_t>& prompt_tokens, uint64_t key,
                   uint32_t sample, const SetInfo& info);

// Throws InputError for bad options or inputs, Error for I/O failures.
DataReport make_distill_set(const DataOptions& options, const DataEvents& events = {});

}  // namespace aded::distill
