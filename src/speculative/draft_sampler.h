// Sampled drafts for a model drafter when the target samples (DraftRequest::sampling): the draft
// token is drawn from the drafting model's own distribution q, computed by the target's sampling
// rules (temperature, top-k, top-p, min-p, penalties) from the drafting model's logits, and q goes
// with the node so the verifier can accept it with probability min(1, p(x) / q(x)) (VERIFY.md).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "aded/sampler.h"
#include "speculative/draft_chain.h"

namespace aded {

class DraftSampler {
 public:
  // Before each proposal: the request's sampling, or null (greedy: drafts are the model's argmax,
  // without q). Each proposal draws fresh numbers: a draft must not be tied to anything drawn in an
  // earlier step (a node drafted again at the same position after a rejection would otherwise reuse
  // the number that, through the budget, may have shaped what the earlier step emitted).
  void reset(const SamplingParams* sampling);
  bool active() const { return sampler_.has_value(); }

  // The draft for absolute position `position` from the drafting model's logits there; recent:
  // the tokens before it (the context, then the chain so far). Its uniform is keyed by (seed,
  // proposal, position, stream), independent of the numbers the verifier draws; nodes of one
  // proposal at the same position (siblings, cousins in a tree) each need a stream of their own.
  Guess draw(std::span<const float> logits, std::span<const int32_t> recent, int64_t position,
             uint32_t stream = 0);
  // Another draw from a distribution draw() returned, on another stream (a sibling of that draft).
  int32_t redraw(std::span<const TokenProb> q, int64_t position, uint32_t stream) const;

 private:
  std::optional<Sampler> sampler_;
  uint64_t proposal_ = 0;
};

}  // namespace aded
