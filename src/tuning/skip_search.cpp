#include "aded/skip_search.h"

#include <algorithm>
#include <numeric>

#include "aded/error.h"
#include "tuning/gaussian_process.h"

namespace aded {

SkipSearch::SkipSearch(int n_layers, SkipSearchOptions options)
    : n_layers_(n_layers), options_(options), rng_(options.seed) {
  if (n_layers < 1) fail("skip search: a model of {} layers has nothing to skip", n_layers);
}

std::vector<uint8_t> skip_choices(const LayerPlan& plan, int n_layers) {
  std::vector<uint8_t> skipped(2 * static_cast<size_t>(n_layers), 0);
  for (int l = 0; l < n_layers; ++l) {
    skipped[static_cast<size_t>(l)] = plan.runs_attention(l) ? 0 : 1;
    skipped[static_cast<size_t>(n_layers + l)] = plan.runs_mlp(l) ? 0 : 1;
  }
  return skipped;
}

LayerPlan plan_of_skip_choices(const std::vector<uint8_t>& skipped, int n_layers) {
  LayerPlan plan;
  plan.attention.assign(static_cast<size_t>(n_layers), 1);
  plan.mlp.assign(static_cast<size_t>(n_layers), 1);
  for (int l = 0; l < n_layers; ++l) {
    plan.attention[static_cast<size_t>(l)] = skipped[static_cast<size_t>(l)] ? 0 : 1;
    plan.mlp[static_cast<size_t>(l)] = skipped[static_cast<size_t>(n_layers + l)] ? 0 : 1;
  }
  return plan;
}

// Each sublayer skipped with one probability drawn per set, so the sets spread over every skip
// ratio instead of clustering at half.
std::vector<uint8_t> SkipSearch::random_choices() {
  std::uniform_real_distribution<double> ratio(0.1, 0.7), coin(0, 1);
  const double p = ratio(rng_);
  std::vector<uint8_t> skipped(2 * static_cast<size_t>(n_layers_));
  for (auto& s : skipped) s = coin(rng_) < p ? 1 : 0;
  return skipped;
}

bool SkipSearch::usable(const std::vector<uint8_t>& skipped) const {
  const int n = std::accumulate(skipped.begin(), skipped.end(), 0);
  return n > 0 && n < static_cast<int>(skipped.size());
}

bool SkipSearch::measured(const std::vector<uint8_t>& skipped) const {
  return std::find(measured_.begin(), measured_.end(), skipped) != measured_.end();
}

LayerPlan SkipSearch::next() {
  const size_t total = 2 * static_cast<size_t>(n_layers_);
  if (history_.empty()) {
    std::vector<uint8_t> every_other(total, 0);  // attention and MLP of layers 1, 3, 5, ...
    for (size_t l = 1; l < static_cast<size_t>(n_layers_); l += 2)
      every_other[l] = every_other[n_layers_ + l] = 1;
    if (usable(every_other)) return decode(every_other);
  }
  // Every usable set measured (tiny models): measure the best again.
  const bool random_phase = static_cast<int>(history_.size()) <= options_.initial;
  std::vector<std::vector<uint8_t>> candidates;
  for (int i = 0; i < (random_phase ? 64 : options_.pool); ++i)
    candidates.push_back(random_choices());
  if (random_phase) {
    for (const auto& c : candidates)
      if (usable(c) && !measured(c)) return decode(c);
  }
  // Neighbours of the best measured sets: where the optimum usually is.
  std::vector<size_t> order(history_.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return history_[a].value > history_[b].value; });
  for (size_t k = 0; k < std::min<size_t>(3, order.size()); ++k) {
    const std::vector<uint8_t> base = encode(history_[order[k]].plan);
    for (size_t i = 0; i < total; ++i) {
      auto one = base;
      one[i] ^= 1;
      candidates.push_back(one);
      for (size_t j = i + 1; j < total; ++j) {
        auto two = one;
        two[j] ^= 1;
        candidates.push_back(std::move(two));
      }
    }
  }
  tuning::GaussianProcess gp;
  std::vector<double> values;
  for (const auto& h : history_) values.push_back(h.value);
  gp.fit(measured_, values);
  double best_score = 0;
  const std::vector<uint8_t>* chosen = nullptr;
  for (const auto& c : candidates) {
    if (!usable(c) || measured(c)) continue;
    const tuning::Prediction p = gp.predict(c);
    const double score = p.mean + options_.kappa * p.stddev;
    if (!chosen || score > best_score) best_score = score, chosen = &c;
  }
  if (!chosen) return best().plan;
  return decode(*chosen);
}

void SkipSearch::record(const LayerPlan& plan, double value) {
  history_.push_back({plan, value});
  measured_.push_back(encode(plan));
}

const SkipObservation& SkipSearch::best() const {
  if (history_.empty()) fail("skip search: nothing measured yet");
  return *std::max_element(
      history_.begin(), history_.end(),
      [](const SkipObservation& a, const SkipObservation& b) { return a.value < b.value; });
}

}  // namespace aded
