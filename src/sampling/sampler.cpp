#include "aded/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "aded/error.h"
#include "core/argmax.h"

namespace aded {

namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

bool by_prob(const TokenProb& a, const TokenProb& b) { return a.p > b.p || (a.p == b.p && a.id < b.id); }

// NaN logits come from broken weights: no token drawn from them means anything, greedy or not.
void refuse_nan(std::span<const float> logits) {
  bool any = false;
  for (const float v : logits) any |= std::isnan(v);  // no early exit: vectorized
  if (!any) return;
  for (size_t i = 0; i < logits.size(); ++i)
    if (std::isnan(logits[i]))
      throw Error(fmt::format("the model's logits contain NaN (at token {}): its weights are broken", i));
}

}  // namespace

void SamplingParams::validate() const {
  if (!std::isfinite(temperature) || temperature < 0) fail("--temp must be >= 0, not {}", temperature);
  if (!(top_p > 0 && top_p <= 1)) fail("--top-p must be in (0, 1], not {}", top_p);
  if (!(min_p >= 0 && min_p < 1)) fail("--min-p must be in [0, 1), not {}", min_p);
  if (!(repeat_penalty > 0 && std::isfinite(repeat_penalty)))
    fail("--repeat-penalty must be > 0, not {}", repeat_penalty);
  if (repeat_last_n < 0) fail("--repeat-last-n must be >= 0, not {}", repeat_last_n);
  if (top_k < 0) fail("--top-k must be >= 0, not {}", top_k);
}

double position_uniform(uint64_t seed, int64_t position, uint32_t stream) {
  uint64_t h = splitmix64(seed);
  h = splitmix64(h ^ static_cast<uint64_t>(position));
  h = splitmix64(h ^ (static_cast<uint64_t>(stream) << 32));
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

Sampler::Sampler(SamplingParams params) : params_(params) { params_.validate(); }

void Sampler::distribution(std::span<const float> logits, std::span<const int32_t> recent,
                           std::vector<TokenProb>& out) const {
  out.clear();
  std::span<const float> l = logits;
  if (params_.repeat_penalty != 1.0f && params_.repeat_last_n > 0 && !recent.empty()) {
    scratch_.assign(logits.begin(), logits.end());
    const size_t window = std::min(recent.size(), static_cast<size_t>(params_.repeat_last_n));
    std::unordered_set<int32_t> seen(recent.end() - static_cast<long>(window), recent.end());
    for (int32_t id : seen) {
      if (id < 0 || static_cast<size_t>(id) >= scratch_.size()) continue;
      float& v = scratch_[static_cast<size_t>(id)];
      v = v > 0 ? v / params_.repeat_penalty : v * params_.repeat_penalty;
    }
    l = scratch_;
  }
  refuse_nan(l);
  if (params_.greedy()) {
    out.push_back({argmax(l), 1.0f});
    return;
  }
  // Candidates ordered by logit (dividing by the temperature keeps the order), then the softmax of
  // logit / temperature in double, relative to the largest: defined at any temperature > 0 (a tiny
  // one makes the top token certain instead of overflowing to inf / NaN).
  out.reserve(l.size());
  for (size_t i = 0; i < l.size(); ++i) {
    out.push_back({static_cast<int32_t>(i), l[i]});
  }
  size_t keep = out.size();
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < keep) {
    keep = static_cast<size_t>(params_.top_k);
    std::partial_sort(out.begin(), out.begin() + static_cast<long>(keep), out.end(), by_prob);
    out.resize(keep);
  } else {
    std::sort(out.begin(), out.end(), by_prob);
  }
  const double top = out.front().p, inv_t = 1.0 / static_cast<double>(params_.temperature);
  double sum = 0;
  std::vector<double>& e = weights_;
  e.resize(out.size());
  for (size_t i = 0; i < out.size(); ++i) {
    const double x = out[i].p;
    // Infinite logits: the +inf ones share the mass; with a finite top, -inf ones get none.
    e[i] = std::isinf(top) ? (x == top ? 1.0 : 0.0) : std::exp((x - top) * inv_t);
    sum += e[i];
  }
  for (size_t i = 0; i < out.size(); ++i) out[i].p = static_cast<float>(e[i] / sum);
  while (out.size() > 1 && !(out.back().p > 0)) out.pop_back();  // only candidates that can be drawn
  // Top-p: the shortest prefix whose mass reaches p.
  if (params_.top_p < 1.0f) {
    double cum = 0;
    size_t n = 0;
    while (n < out.size()) {
      cum += out[n].p;
      ++n;
      if (cum >= params_.top_p) break;
    }
    out.resize(std::max<size_t>(n, 1));
  }
  // Min-p: drop tokens below min_p times the most likely one.
  if (params_.min_p > 0) {
    const float floor = params_.min_p * out.front().p;
    size_t n = 1;
    while (n < out.size() && out[n].p >= floor) ++n;
    out.resize(n);
  }
  double total = 0;
  for (const auto& c : out) total += c.p;
  for (auto& c : out) c.p = static_cast<float>(c.p / total);
}

int32_t Sampler::draw(std::span<const TokenProb> dist, double u) {
  double total = 0;
  for (const auto& c : dist) total += c.p;
  const double target = u * total;
  double cum = 0;
  for (const auto& c : dist) {
    cum += c.p;
    if (target < cum) return c.id;
  }
  return dist.back().id;
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> recent, int64_t position) const {
  distribution(logits, recent, dist_);
  if (params_.greedy()) return dist_.front().id;
  return draw(dist_, position_uniform(params_.seed, position));
}

}  // namespace aded
