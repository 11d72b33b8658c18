// A decoding session: prefill a prompt, then produce tokens step by step. With a speculator, each
// step verifies a draft tree in one forward pass and can emit several tokens; the output is the
// same as plain decoding (greedy: identical; sampling: identical for deterministic drafters).
// Most callers want the generation loop on top of it (generator.h).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "aded/context.h"
#include "aded/sampler.h"
#include "aded/speculator.h"
#include "aded/tree_verifier.h"

namespace aded {

struct DecodingStats {
  int prompt_tokens = 0;
  int prompt_tokens_cached = 0;  // of those, kept in the cache from an earlier request
  double prefill_seconds = 0;
  int generated = 0;
  int steps = 0;  // target forwards after the prefill
  double decode_seconds = 0;
  double draft_seconds = 0;  // the drafter's work: proposing trees and observing what was emitted
  double verify_seconds = 0;
  int64_t nodes_verified = 0;
  // Of those, nodes drawn from a drafter's distribution (sampled drafts): with them the output is
  // an exact sample of the target's distribution, not the tokens of plain sampling for the seed.
  int64_t nodes_sampled = 0;
  std::vector<int64_t> verified_at_depth, accepted_at_depth;  // index: depth (1 = child of root)
};

class DecodingSession {
 public:
  // speculator: nullptr for plain decoding; it may serve many sessions one after the other (it
  // keeps what it measured and learned across requests).
  // token_probabilities: report each token's probability (last_probabilities()); greedy decoding
  // then computes the whole output head.
  DecodingSession(Context& context, SamplingParams sampling, Speculator* speculator = nullptr,
                  bool token_probabilities = false);
  ~DecodingSession();

  // Evaluates the prompt (must be non-empty; the caller adds BOS) and draws the first token.
  // cached: how many leading prompt tokens the context's cache already holds from an earlier
  // request (their cells are kept, the rest is evaluated; at most n_past and prompt.size() - 1,
  // since the last prompt token's logits are needed). Throws InputError when the prompt does not
  // fit in the context.
  void prefill(std::span<const int32_t> prompt, int cached = 0);

  // Appends the next token(s) to `out`; returns false when nothing more can be produced
  // (the context is full). End-of-generation tokens are emitted like any other: the caller stops.
  bool step(std::vector<int32_t>& out);

  // Of the tokens the last step() appended: how many were accepted drafts (they come first), and
  // each one's probability (when asked for in the constructor).
  int last_drafted() const { return last_drafted_; }
  std::span<const float> last_probabilities() const { return last_probabilities_; }

  // Prompt and every emitted token so far.
  const std::vector<int32_t>& sequence() const { return sequence_; }
  const DecodingStats& stats() const { return stats_; }
  // Ends the request (drafters keep cross-request memory). Called by the destructor too.
  void finish();

 private:
  void calibrate_costs();

  Context& ctx_;
  Sampler sampler_;
  Speculator* speculator_;
  TreeVerifier verifier_;
  DraftTree tree_;
  std::vector<int32_t> sequence_;
  bool token_probabilities_;
  int last_drafted_ = 0;
  std::vector<float> last_probabilities_;
  float first_probability_ = 0;
  bool first_pending_ = false;
  bool finished_ = true;
  DecodingStats stats_;
};

}  // namespace aded
