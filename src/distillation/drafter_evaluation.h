// How well a drafter models a target (aded eval-drafter), measured on the target's own
// generations as in Goel et al. (arXiv 2403.00858, section 4):
// - acceptance alpha = E[sum_x min(p(x), q(x))] over the response positions, p and q at the
//   sampling temperature (greedy: 1 when the two argmaxes agree, else 0);
// - block efficiency tau(gamma): expected tokens per target forward with a draft chain of gamma
//   tokens. From the per-position acceptances beta_t, a block that starts at t yields
//   1 + sum_{j=1..gamma} prod_{i<j} beta_{t+i} tokens (the bonus or correction token, then each
//   draft accepted while every one before it was); tau is its mean over start positions. The
//   i.i.d. form (1 - alpha^(gamma+1)) / (1 - alpha) (Leviathan et al. 2023) is given beside it.
// - memory-bound speed-up MBSU(gamma) = c tau / (c gamma + 1), c = target / drafter parameters.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "aded/context.h"
#include "aded/generator.h"

namespace aded::distill {

inline constexpr int kMaxGamma = 8;

struct AcceptanceReport {
  uint64_t positions = 0;
  double alpha = 0;
  double tau[kMaxGamma + 1] = {};      // tau[gamma], gamma 1..8 (per-position products)
  double tau_iid[kMaxGamma + 1] = {};  // from alpha alone
  double mbsu[kMaxGamma + 1] = {};
  double c = 0;  // target parameters / drafter parameters
};

// Per-position acceptances of one response: sum_x min(p, q) at every response position of
// `tokens` (response from `response_start` on), p from the target context, q from the drafter's.
// Both contexts must be empty; they are left empty.
std::vector<double> position_acceptance(Context& target, Context& drafter,
                                        const std::vector<int32_t>& tokens, size_t response_start,
                                        float temperature);

// alpha, tau and MBSU from the acceptances of every response (one vector each).
AcceptanceReport summarize_acceptance(const std::vector<std::vector<double>>& responses,
                                      double parameter_ratio);

// Decoding throughput of a generation setup over prompts: generated tokens over decode seconds.
struct Throughput {
  uint64_t tokens = 0;
  double seconds = 0;
  double tokens_per_second() const {
    return seconds > 0 ? static_cast<double>(tokens) / seconds : 0;
  }
};
Throughput measure_decoding(Context& ctx, const std::vector<std::vector<int32_t>>& prompts,
                            const GenerateOptions& options);

}  // namespace aded::distill
