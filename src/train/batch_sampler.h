// Training batches: windows of seq + 1 tokens at random places in the token stream (inputs are the
// first seq tokens, targets the last seq). The place of window b of step s is a pure function of
// (seed, s, b), so resuming at step s needs no other sampler state.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace aded::train {

struct TokenBatch {
  std::vector<int32_t> inputs;
  std::vector<int32_t> targets;
};

class WindowSampler {
 public:
  // Throws InputError when the stream is shorter than one window.
  WindowSampler(size_t n_tokens, int seq, uint64_t seed);
  size_t window_start(uint64_t step, int index) const;

 private:
  size_t positions_;  // possible window starts
  uint64_t seed_;
};

// The `count` windows of a training step.
void sample_batch(std::span<const int32_t> tokens, int seq, const WindowSampler& sampler,
                  uint64_t step, int count, TokenBatch& out);

// Windows at `count` evenly spaced places (the same every time), for validation.
void evenly_spaced_batch(std::span<const int32_t> tokens, int seq, int first, int count, int total,
                         TokenBatch& out);

}  // namespace aded::train
