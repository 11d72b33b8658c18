// What the per-request drafter choice (`--spec auto`) knows about a request before it drafts: a
// few numbers read off the prompt and the sampling settings, each costing one pass over the prompt
// (microseconds next to its prefill). They are the context of the contextual bandit of Huang et
// al. (arXiv 2408.08470), who embed the query instead: an embedding costs a forward, and these
// measure directly what decides which drafter wins.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace aded {

class TrigramTable;

struct RequestFeatures {
  // Names as log rows and policy files spell them, in order (docs/selection.md). The prompt's
  // three measures come twice, alone and times `greedy`: how much prompt lookup or the tri-gram
  // table help depends on whether the target samples (their deterministic drafts are accepted
  // far less often then), so the regression needs a slope for each.
  static constexpr std::array<std::string_view, 9> kNames = {
      "bias",                      // 1: the arm's mean reward
      "temperature",               // the sampling temperature (0: greedy), at most 2
      "greedy",                    // 1 when the request is greedy, else 0
      "log_prompt_tokens",         // log2(1 + prompt tokens) / 12: verification costs more deep in the context
      "prompt_repetition",         // share of the prompt's tokens that its own earlier text predicted
                                   // (the last continuation of the 3 tokens before): what prompt lookup finds
      "table_hit",                 // share of its tokens that are the table's most frequent successor of
                                   // the 2 before (0 without a table): what the tri-gram statistics find
      "greedy_log_prompt_tokens",  // the three above times greedy
      "greedy_prompt_repetition",
      "greedy_table_hit",
  };
  static constexpr size_t kCount = kNames.size();
  std::array<double, kCount> values{};
};

// table may be null (table_hit is then 0).
RequestFeatures request_features(std::span<const int32_t> prompt, double temperature, const TrigramTable* table);

}  // namespace aded
