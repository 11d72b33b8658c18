#include "speculative/draft_sampler.h"

namespace aded {

namespace {
// The verifier draws streams 0 (emitted tokens) and 1.. (one per candidate it tries).
constexpr uint32_t kDraftStream = 0x44524654;  // "DRFT"
}  // namespace

void DraftSampler::reset(const SamplingParams* sampling) {
  ++proposal_;
  if (!sampling || sampling->greedy()) {
    sampler_.reset();
  } else if (!sampler_ || sampler_->params().seed != sampling->seed ||
             sampler_->params().temperature != sampling->temperature ||
             sampler_->params().top_k != sampling->top_k || sampler_->params().top_p != sampling->top_p ||
             sampler_->params().min_p != sampling->min_p ||
             sampler_->params().repeat_penalty != sampling->repeat_penalty ||
             sampler_->params().repeat_last_n != sampling->repeat_last_n) {
    sampler_.emplace(*sampling);
  }
}

Guess DraftSampler::draw(std::span<const float> logits, std::span<const int32_t> recent, int64_t position,
                         uint32_t stream) {
  Guess g;
  sampler_->distribution(logits, recent, g.q);
  g.token = redraw(g.q, position, stream);
  g.probability = g.q.empty() ? 0.0f : g.q.front().p;  // the top of q (sorted), as a greedy chain's
  return g;
}

int32_t DraftSampler::redraw(std::span<const TokenProb> q, int64_t position, uint32_t stream) const {
  // The proposal's number goes into the seed (a golden-ratio step apart), the stream into the stream.
  const uint64_t seed = sampler_->params().seed + 0x9E3779B97F4A7C15ull * proposal_;
  return Sampler::draw(q, position_uniform(seed, position, kDraftStream + stream));
}

}  // namespace aded
