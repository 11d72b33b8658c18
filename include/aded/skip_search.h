// Bayesian optimization of the skip set of self-speculative decoding (Draft & Verify, Zhang et
// al., arXiv 2309.08168, §3.2): one binary choice per attention and per MLP sublayer (2L), a
// Gaussian process over the skip sets measured so far, and the next set to measure chosen by the
// upper confidence bound mean + kappa * stddev. The objective is whatever the caller measures
// (aded tune-skip: tokens/s of self-speculative greedy decoding on a set of prompts); higher is
// better. The search itself never runs the model, so it is tested on synthetic objectives.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "aded/context.h"

namespace aded {

// The 2L choices of a plan for an n_layers model: attention of layers 0..L-1, then MLP; 1 =
// skipped. And back.
std::vector<uint8_t> skip_choices(const LayerPlan& plan, int n_layers);
LayerPlan plan_of_skip_choices(const std::vector<uint8_t>& skipped, int n_layers);

struct SkipSearchOptions {
  // Random skip sets measured after the first one (every other layer) before the Gaussian process
  // guides the search.
  int initial = 5;
  // UCB's weight on the uncertainty: 2.576, the default of the bayes_opt library Draft & Verify's
  // search ran with.
  double kappa = 2.576;
  // Random skip sets scored by the acquisition per step, besides every set one or two flips away
  // from the best three measured.
  int pool = 2000;
  uint64_t seed = 1;
};

struct SkipObservation {
  LayerPlan plan;
  double value = 0;
};

class SkipSearch {
 public:
  // Throws Error for fewer than one layer.
  explicit SkipSearch(int n_layers, SkipSearchOptions options = {});

  // The next skip set to measure: every other layer first, then the random ones, then the one of
  // highest upper confidence bound among those not measured yet. Never all sublayers, never none.
  LayerPlan next();
  // The measured value of a skip set (normally the one next() gave).
  void record(const LayerPlan& plan, double value);

  const std::vector<SkipObservation>& history() const { return history_; }
  // The best measured skip set; Error if nothing was recorded.
  const SkipObservation& best() const;

  std::vector<uint8_t> encode(const LayerPlan& plan) const { return skip_choices(plan, n_layers_); }
  LayerPlan decode(const std::vector<uint8_t>& skipped) const {
    return plan_of_skip_choices(skipped, n_layers_);
  }

 private:
  std::vector<uint8_t> random_choices();
  bool usable(const std::vector<uint8_t>& skipped) const;
  bool measured(const std::vector<uint8_t>& skipped) const;

  int n_layers_;
  SkipSearchOptions options_;
  std::mt19937_64 rng_;
  std::vector<SkipObservation> history_;
  std::vector<std::vector<uint8_t>> measured_;
};

}  // namespace aded
