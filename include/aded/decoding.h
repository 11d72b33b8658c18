// A decoding session: prefill a prompt, then produce tokens step by step. Speculative drafters
// plug into the same loop (one step can then emit several tokens); without one it is plain
// autoregressive decoding.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "aded/context.h"
#include "aded/sampler.h"

namespace aded {

struct DecodingStats {
  int prompt_tokens = 0;
  double prefill_seconds = 0;
  int generated = 0;
  int steps = 0;  // target forwards after the prefill
  double decode_seconds = 0;
};

class DecodingSession {
 public:
  DecodingSession(Context& context, SamplingParams sampling);

  // Evaluates the prompt (must be non-empty; the caller adds BOS) and draws the first token.
  // Throws InputError when the prompt does not fit in the context.
  void prefill(std::span<const int32_t> prompt);

  // Appends the next token(s) to `out`; returns false when nothing more can be produced
  // (the context is full). End-of-generation tokens are emitted like any other: the caller stops.
  bool step(std::vector<int32_t>& out);

  // Prompt and every emitted token so far.
  const std::vector<int32_t>& sequence() const { return sequence_; }
  const DecodingStats& stats() const { return stats_; }

 private:
  int32_t draw(std::span<const float> logits, int64_t position);

  Context& ctx_;
  Sampler sampler_;
  std::vector<int32_t> sequence_;
  bool first_pending_ = false;  // the token drawn by prefill has not been returned yet
  DecodingStats stats_;
};

}  // namespace aded
