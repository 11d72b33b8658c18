// The distillation losses of one position, between the target's distribution p and the drafter's
// q = softmax(z) (Goel et al., arXiv 2403.00858, section 3):
//   FKL = KL(p || q) = sum p log(p / q)            dL/dz = q - p
//   RKL = KL(q || p) = sum q log(q / p)            dL/dz = q (log q - log p - RKL)
//   TVD = 1 - sum min(p, q) = 1/2 sum |p - q|      dL/dz = -q (r - m)
// with r(x) = 1{p(x) > q(x)} and m = sum_x q(x) r(x) = E_q[r]. The TVD gradient is the policy
// gradient -E_{x~q}[r(x) grad log q(x)] computed exactly over the vocabulary (grad_z log q(x) =
// e_x - q), so 1 - TVD, the acceptance probability of speculative sampling, is what it climbs.
// TVD++ normalizes the reward r to an advantage (r - mean) / std; two readings of which set the
// mean and std are taken over (docs/distillation.md):
//   per position: over the vocabulary under q (mean m, std sqrt(m (1 - m))), the expectation
//     exact: dL/dz = -q (r - m) / std, TVD's gradient reweighted per position;
//   per batch: one token x ~ q sampled at every position, the mean and std of r(x) over every
//     position of the batch: dL/dz = -A (e_x - q), A = (r(x) - mean) / std.
// Each function writes scale * dL/dz over z (when scale != 0) and returns the loss (TVD for the
// TVD++ variants: the value, not the surrogate the gradient comes from).
#pragma once

#include <cstdint>

namespace aded::train {

enum class DistillLoss { Fkl, Rkl, Tvd, TvdPlusPlus };
enum class AdvantageNorm { Batch, Position };

// The dense target distribution from a stored top k: p = the stored probabilities on their ids,
// and the rest mass spread evenly over the n - k other tokens (so p > 0 wherever the rest is, and
// KL(q || p) stays finite).
template <typename T>
void dense_target(const int32_t* ids, const float* probs, float rest, int k, int n, T* p);

// softmax(z) into q; returns log of the normalizer (log q = z - max - that).
template <typename T>
T softmax_into(const T* z, int n, T* q);

// sum_x min(p(x), q(x)): the probability that speculative sampling accepts a draft from q.
template <typename T>
double acceptance(const T* p, const T* q, int n);

template <typename T>
double fkl_row(T* z, const T* p, int n, T scale);
template <typename T>
double rkl_row(T* z, const T* p, int n, T scale);
// inv_std: the TVD++ per-position normalization (1 for plain TVD; 0: compute 1 / sqrt(m (1 - m))
// from this row, as training does; a test passes a fixed value to check the surrogate).
template <typename T>
double tvd_row(T* z, const T* p, int n, T scale, double inv_std = 1.0);
// TVD++ per batch: the gradient of -advantage * log q(token); returns TVD.
template <typename T>
double tvd_sampled_row(T* z, const T* p, int n, T scale, int32_t token, double advantage);

// The reward of a sampled token: 1 when the target gives it more probability than the drafter.
template <typename T>
double tvd_reward(const T* p, const T* q, int32_t token) {
  return p[token] > q[token] ? 1.0 : 0.0;
}

}  // namespace aded::train
