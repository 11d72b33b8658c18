// Token sampling: greedy, temperature, top-k, top-p, min-p, repetition penalty. The random number
// for absolute position i is a function of (seed, i) only, so speculative and plain decoding draw
// the same numbers for the same positions (../shared/docs/VERIFY.md).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace aded {

struct SamplingParams {
  float temperature = 0.8f;  // <= 0: greedy
  int top_k = 40;            // <= 0: off
  float top_p = 0.95f;       // >= 1: off
  float min_p = 0.05f;       // <= 0: off
  float repeat_penalty = 1.0f;  // 1: off
  int repeat_last_n = 64;
  uint64_t seed = 0;

  bool greedy() const { return temperature <= 0; }
  // Greedy on the raw logits (no repetition penalty): only the argmax of the logits is needed.
  bool argmax_only() const { return greedy() && (repeat_penalty == 1.0f || repeat_last_n == 0); }
  // Throws InputError naming the parameter when a value is out of range.
  void validate() const;
};

struct TokenProb {
  int32_t id;
  float p;
};

// The random stream: a uniform double in [0, 1) for (seed, position, stream).
double position_uniform(uint64_t seed, int64_t position, uint32_t stream = 0);

class Sampler {
 public:
  explicit Sampler(SamplingParams params);
  const SamplingParams& params() const { return params_; }

  // The distribution tokens are drawn from at one position: candidates with nonzero probability,
  // sorted by probability (ties by id), summing to 1. recent: the tokens before this position
  // (only the last repeat_last_n are used). Greedy gives the argmax with p = 1.
  void distribution(std::span<const float> logits, std::span<const int32_t> recent,
                    std::vector<TokenProb>& out) const;

  // Draws the token for absolute position `position` (the position the new token will occupy).
  int32_t sample(std::span<const float> logits, std::span<const int32_t> recent, int64_t position) const;

  // Inverse-CDF draw from a distribution with uniform u.
  static int32_t draw(std::span<const TokenProb> dist, double u);

 private:
  SamplingParams params_;
  mutable std::vector<float> scratch_;
  mutable std::vector<TokenProb> dist_;
  mutable std::vector<double> weights_;
};

}  // namespace aded
