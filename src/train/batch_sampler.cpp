#include "train/batch_sampler.h"

#include "aded/error.h"

namespace aded::train {

namespace {

uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void append_window(std::span<const int32_t> tokens, size_t start, int seq, TokenBatch& out) {
  const auto s = static_cast<size_t>(seq);
  out.inputs.insert(out.inputs.end(), tokens.begin() + static_cast<ptrdiff_t>(start),
                    tokens.begin() + static_cast<ptrdiff_t>(start + s));
  out.targets.insert(out.targets.end(), tokens.begin() + static_cast<ptrdiff_t>(start + 1),
                     tokens.begin() + static_cast<ptrdiff_t>(start + s + 1));
}

}  // namespace

WindowSampler::WindowSampler(size_t n_tokens, int seq, uint64_t seed) : seed_(seed) {
  if (n_tokens < static_cast<size_t>(seq) + 1)
    fail("the corpus has {} tokens, fewer than one training window of {} (--ctx + 1)", n_tokens,
         seq + 1);
  positions_ = n_tokens - static_cast<size_t>(seq);
}

size_t WindowSampler::window_start(uint64_t step, int index) const {
  const uint64_t h = mix(mix(seed_ ^ 0x5DEECE66Dull) +
                         mix(step * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(index)));
  return static_cast<size_t>(
      h % positions_);  // the bias of the modulo is below 2^-30 for any corpus here
}

void sample_batch(std::span<const int32_t> tokens, int seq, const WindowSampler& sampler,
                  uint64_t step, int count, TokenBatch& out) {
  out.inputs.clear();
  out.targets.clear();
  for (int b = 0; b < count; ++b) append_window(tokens, sampler.window_start(step, b), seq, out);
}

void evenly_spaced_batch(std::span<const int32_t> tokens, int seq, int first, int count, int total,
                         TokenBatch& out) {
  if (tokens.size() < static_cast<size_t>(seq) + 1)
    fail("the validation text has {} tokens, fewer than one window of {} (--ctx + 1)",
         tokens.size(), seq + 1);
  out.inputs.clear();
  out.targets.clear();
  const size_t last = tokens.size() - static_cast<size_t>(seq) - 1;
  for (int b = first; b < first + count; ++b) {
    const size_t start =
        total > 1 ? last * static_cast<size_t>(b) / static_cast<size_t>(total - 1) : 0;
    append_window(tokens, start, seq, out);
  }
}

}  // namespace aded::train
