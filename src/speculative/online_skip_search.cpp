#include "speculative/online_skip_search.h"

#include <algorithm>
#include <numeric>

#include "aded/error.h"
#include "aded/skip_search.h"
#include "tuning/gaussian_process.h"

namespace aded {

OnlineSkipSearch::OnlineSkipSearch(int n_layers, OnlineSkipOptions options)
    : n_layers_(n_layers), o_(options), rng_(options.seed) {
  if (n_layers < 3)
    fail(
        "self:skip=online: a model of {} layers has no inner layers to skip (the first and last "
        "always run)",
        n_layers);
  for (int l = 1; l < n_layers - 1; ++l) choices_.push_back(l);             // attention
  for (int l = 1; l < n_layers - 1; ++l) choices_.push_back(n_layers + l);  // MLP
  k_ = std::max(1, static_cast<int>(static_cast<double>(choices_.size()) * o_.skip_ratio));
  // SWIFT starts from the odd layers (attention and MLP) of 1..L-2.
  best_.assign(2 * static_cast<size_t>(n_layers), 0);
  for (int l = 1; l < n_layers - 1; l += 2)
    best_[static_cast<size_t>(l)] = best_[static_cast<size_t>(n_layers + l)] = 1;
  plan_ = to_plan(best_);
}

LayerPlan OnlineSkipSearch::to_plan(const std::vector<uint8_t>& skipped) const {
  return plan_of_skip_choices(skipped, n_layers_);
}

void OnlineSkipSearch::begin(int32_t prompt_tokens) {
  prompt_tokens_ = prompt_tokens;
  scored_this_request_ = false;  // the best set's score is for another request's text
}

std::vector<uint8_t> OnlineSkipSearch::random_candidate() {
  std::vector<int> pick = choices_;
  std::shuffle(pick.begin(), pick.end(), rng_);
  std::vector<uint8_t> skipped(2 * static_cast<size_t>(n_layers_), 0);
  for (int i = 0; i < k_; ++i) skipped[static_cast<size_t>(pick[static_cast<size_t>(i)])] = 1;
  return skipped;
}

// The Gaussian process over the scores so far picks, by UCB, among random sets and the sets one
// swap away from the best.
std::vector<uint8_t> OnlineSkipSearch::guided_candidate() {
  std::vector<std::vector<uint8_t>> pool;
  for (int i = 0; i < 500; ++i) pool.push_back(random_candidate());
  for (int on : choices_)
    for (int off : choices_)
      if (best_[static_cast<size_t>(on)] && !best_[static_cast<size_t>(off)]) {
        auto swapped = best_;
        swapped[static_cast<size_t>(on)] = 0;
        swapped[static_cast<size_t>(off)] = 1;
        pool.push_back(std::move(swapped));
      }
  tuning::GaussianProcess gp;
  gp.fit(seen_, scores_);
  const std::vector<uint8_t>* chosen = &pool.front();
  double top = -1e300;
  for (const auto& c : pool) {
    const tuning::Prediction p = gp.predict(c);
    const double ucb = p.mean + o_.kappa * p.stddev;
    if (ucb > top) top = ucb, chosen = &c;
  }
  return *chosen;
}

double OnlineSkipSearch::matchness(Context& ctx, std::span<const int32_t> context,
                                   const LayerPlan& plan) const {
  const int32_t n0 = ctx.n_past(), w = o_.window;
  Batch b;
  b.tokens.assign(context.begin() + prompt_tokens_, context.begin() + prompt_tokens_ + w);
  b.mask.prefix = prompt_tokens_;
  std::vector<int32_t> visible;
  for (int32_t i = 0; i < w; ++i) {
    b.positions.push_back(prompt_tokens_ + i);
    visible.push_back(n0 + i);  // the window's earlier tokens as this forward computes them
    b.mask.add_query(visible);
  }
  b.greedy_only = true;
  b.plan = plan;
  ctx.forward(b);
  int hits = 0;
  for (int32_t i = 0; i < w; ++i)
    hits += ctx.greedy_argmax(i) == context[static_cast<size_t>(prompt_tokens_ + i + 1)];
  return static_cast<double>(hits) / w;
}

void OnlineSkipSearch::step(Context& ctx, std::span<const int32_t> context) {
  if (!optimizing_) return;
  const int32_t n0 = ctx.n_past();
  // The window and the token after it are generated and in the cache; the scoring forward fits.
  if (static_cast<int64_t>(context.size()) != n0 + 1 || n0 < prompt_tokens_ + o_.window + 1 ||
      n0 + o_.window > ctx.n_ctx())
    return;
  if (!scored_this_request_) {
    best_score_ = matchness(ctx, context, plan_);
    scored_this_request_ = true;
    return;
  }
  ++iterations_;
  const bool guided =
      o_.bayes_interval > 0 && iterations_ % o_.bayes_interval == 0 && seen_.size() >= 2;
  const std::vector<uint8_t> candidate = guided ? guided_candidate() : random_candidate();
  const double score = matchness(ctx, context, to_plan(candidate));
  seen_.push_back(candidate);
  scores_.push_back(score);
  if (score > best_score_) {
    best_ = candidate;
    best_score_ = score;
    plan_ = to_plan(best_);
    tolerance_ = 0;
    if (score > o_.max_score) optimizing_ = false;
  } else if (++tolerance_ > o_.max_tolerance) {
    optimizing_ = false;
  }
  if (iterations_ >= o_.max_iterations) optimizing_ = false;
}

}  // namespace aded
