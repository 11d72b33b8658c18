// The skip set adapted while generating, with no offline search (SWIFT, Xia et al., arXiv
// 2410.06916, "On-the-Fly Self-Speculative Decoding"). Before a draft, while optimizing, one
// candidate skip set (a fixed share of the sublayers of layers 1..L-2; the first and last layers
// always run) is scored by its matchness: the target's own first `window` generated tokens of the
// request are forwarded once with the candidate's plan, teacher-forced, and the score is the share
// of positions where the skipped model's argmax is the next generated token. A candidate that
// scores above the best so far replaces it; optimizing stops when the score passes max_score, after
// max_tolerance candidates without improvement, or after max_iterations. Candidates are random,
// and every bayes_interval-th comes from a Gaussian process over the scores (UCB). Defaults are
// SWIFT's released ones. The scoring forward writes only cells past the committed ones (like a
// draft), so the cache is unchanged.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "aded/context.h"

namespace aded {

struct OnlineSkipOptions {
  double skip_ratio = 0.45;  // of the 2(L-2) sublayers of layers 1..L-2
  int window = 32;           // generated tokens scored (SWIFT's context_window)
  double max_score = 0.93;
  int max_tolerance = 300;
  int max_iterations = 1000;
  int bayes_interval = 25;
  double kappa = 2.5;
  uint64_t seed = 2024;
};

class OnlineSkipSearch {
 public:
  // Throws InputError for a model of fewer than 3 layers (nothing may be skipped).
  OnlineSkipSearch(int n_layers, OnlineSkipOptions options = {});

  const LayerPlan& plan() const { return plan_; }
  bool optimizing() const { return optimizing_; }
  int iterations() const { return iterations_; }
  double best_score() const { return best_score_; }

  // A request starts; its prompt has this many tokens.
  void begin(int32_t prompt_tokens);
  // One optimization step, if due: `context` holds every token so far, its last one not yet in
  // the cache of `ctx` (which holds the others). Call before drafting.
  void step(Context& ctx, std::span<const int32_t> context);

  // The matchness of a plan on the request's window (step's conditions must hold: the window and
  // the token after it are in the cache, and the forward fits).
  double matchness(Context& ctx, std::span<const int32_t> context, const LayerPlan& plan) const;

 private:
  std::vector<uint8_t> random_candidate();
  std::vector<uint8_t> guided_candidate();
  LayerPlan to_plan(const std::vector<uint8_t>& skipped) const;

  int n_layers_;
  OnlineSkipOptions o_;
  std::mt19937_64 rng_;
  std::vector<int> choices_;  // indices of the skippable sublayers in the 2L encoding
  int k_ = 0;                 // sublayers skipped
  std::vector<uint8_t> best_;
  LayerPlan plan_;
  double best_score_ = -1;
  bool scored_this_request_ = false;
  bool optimizing_ = true;
  int iterations_ = 0, tolerance_ = 0;
  int32_t prompt_tokens_ = 0;
  std::vector<std::vector<uint8_t>> seen_;
  std::vector<double> scores_;
};

}  // namespace aded
