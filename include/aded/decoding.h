// A decoding session: prefill a prompt, then produce tokens step by step. With a drafter, each
// step verifies a draft tree in one forward pass and can emit several tokens; the output is the
// same as plain decoding (greedy: identical; sampling: identical for deterministic drafters).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "aded/budget_controller.h"
#include "aded/context.h"
#include "aded/drafter.h"
#include "aded/sampler.h"
#include "aded/tree_verifier.h"

namespace aded {

struct SpeculationOptions {
  Drafter* drafter = nullptr;            // nullptr: plain decoding
  BudgetController* budget = nullptr;    // shared across requests; nullptr: the session owns one
  int max_nodes = 16;                    // --draft-max
  int max_depth = 32;
  bool adaptive_budget = true;           // off: always verify min(tree, max_nodes) nodes
};

struct DecodingStats {
  int prompt_tokens = 0;
  double prefill_seconds = 0;
  int generated = 0;
  int steps = 0;  // target forwards after the prefill
  double decode_seconds = 0;
  double draft_seconds = 0;  // the drafter's work: proposing trees and observing what was emitted
  double verify_seconds = 0;
  int64_t nodes_verified = 0;
  std::vector<int64_t> verified_at_depth, accepted_at_depth;  // index: depth (1 = child of root)
};

class DecodingSession {
 public:
  DecodingSession(Context& context, SamplingParams sampling, SpeculationOptions speculation = {});
  ~DecodingSession();

  // Evaluates the prompt (must be non-empty; the caller adds BOS) and draws the first token.
  // Throws InputError when the prompt does not fit in the context.
  void prefill(std::span<const int32_t> prompt);

  // Appends the next token(s) to `out`; returns false when nothing more can be produced
  // (the context is full). End-of-generation tokens are emitted like any other: the caller stops.
  bool step(std::vector<int32_t>& out);

  // Prompt and every emitted token so far.
  const std::vector<int32_t>& sequence() const { return sequence_; }
  const DecodingStats& stats() const { return stats_; }
  // Ends the request (drafters keep cross-request memory). Called by the destructor too.
  void finish();

 private:
  void calibrate_costs();

  Context& ctx_;
  Sampler sampler_;
  SpeculationOptions spec_;
  std::unique_ptr<BudgetController> own_budget_;
  BudgetController* budget_ = nullptr;
  TreeVerifier verifier_;
  DraftTree tree_;
  std::vector<int32_t> sequence_;
  bool first_pending_ = false;
  bool finished_ = true;
  DecodingStats stats_;
};

}  // namespace aded
