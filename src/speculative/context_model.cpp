#include "speculative/context_model.h"

#include <algorithm>

#include "aded/error.h"

namespace aded {

namespace {
// The calibration forgets slowly, so it follows the target as its text changes character.
constexpr double kDecay = 0.999;
}  // namespace

ContextModel::ContextModel(int max_order) : max_order_(max_order) {
  if (max_order < 1 || max_order > kMaxOrder) fail("context model: the order must be 1..{}, not {}", kMaxOrder, max_order);
}

void ContextModel::reset() {
  text_.clear();
  for (auto& m : index_) m.clear();
}

uint64_t ContextModel::hash(std::span<const int32_t> tokens) {
  uint64_t h = tokens.size();
  for (int32_t t : tokens) h = (h ^ static_cast<uint32_t>(t)) * 0x100000001B3ull + 0x9E3779B97F4A7C15ull;
  return h;
}

float ContextModel::hit_rate(int order) const {
  const auto o = static_cast<size_t>(std::clamp(order, 0, kMaxOrder));
  return static_cast<float>((hits_[o] + 1.0) / (trials_[o] + 2.0));
}

void ContextModel::extend(std::span<const int32_t> text) {
  // A different text than the one indexed (a new request without reset): start over.
  if (text.size() < text_.size() || !std::equal(text_.begin(), text_.end(), text.begin())) reset();
  for (size_t t = text_.size(); t < text.size(); ++t) {
    const size_t n_hist = std::min<size_t>(t, static_cast<size_t>(max_order_));
    if (n_hist > 0) {
      const Prediction p = predict(text.subspan(t - n_hist, n_hist));
      if (p.order > 0) {
        for (size_t o = 0; o <= kMaxOrder; ++o) {
          hits_[o] *= kDecay;
          trials_[o] *= kDecay;
        }
        trials_[static_cast<size_t>(p.order)] += 1;
        hits_[static_cast<size_t>(p.order)] += p.tokens[0] == text[t] ? 1 : 0;
      }
    }
    text_.push_back(text[t]);
    for (size_t n = 1; n <= n_hist; ++n) index_[n - 1][hash(text.subspan(t - n, n))].push_back(static_cast<uint32_t>(t));
  }
}

ContextModel::Prediction ContextModel::predict(std::span<const int32_t> history) const {
  Prediction out;
  const int longest = std::min<int>(max_order_, static_cast<int>(history.size()));
  for (int n = longest; n >= 1; --n) {
    const auto it = index_[static_cast<size_t>(n - 1)].find(hash(history.subspan(history.size() - static_cast<size_t>(n))));
    if (it == index_[static_cast<size_t>(n - 1)].end()) continue;
    // Count what followed the most recent occurrences; ties go to the most recent.
    std::array<int32_t, kMaxOccurrences> tokens{};
    std::array<int, kMaxOccurrences> counts{};
    int distinct = 0, seen = 0;
    for (auto p = it->second.rbegin(); p != it->second.rend() && seen < kMaxOccurrences; ++p, ++seen) {
      const int32_t token = text_[*p];
      int i = 0;
      while (i < distinct && tokens[static_cast<size_t>(i)] != token) ++i;
      if (i == distinct) tokens[static_cast<size_t>(distinct++)] = token;
      ++counts[static_cast<size_t>(i)];
    }
    std::array<int, kMaxOccurrences> order{};
    for (int i = 0; i < distinct; ++i) order[static_cast<size_t>(i)] = i;
    std::stable_sort(order.begin(), order.begin() + distinct,
                     [&](int a, int b) { return counts[static_cast<size_t>(a)] > counts[static_cast<size_t>(b)]; });
    out.order = n;
    out.size = std::min(distinct, kMaxCandidates);
    // The first choice is right with the calibrated hit rate; the others in proportion to their
    // counts; all of it within kMaxMass so the rest of the model keeps a share.
    const float top = hit_rate(n);
    const float c0 = static_cast<float>(counts[static_cast<size_t>(order[0])]);
    float mass = 0;
    for (int i = 0; i < out.size; ++i) {
      out.tokens[static_cast<size_t>(i)] = tokens[static_cast<size_t>(order[static_cast<size_t>(i)])];
      out.p[static_cast<size_t>(i)] = top * static_cast<float>(counts[static_cast<size_t>(order[static_cast<size_t>(i)])]) / c0;
      mass += out.p[static_cast<size_t>(i)];
    }
    if (mass > kMaxMass)
      for (int i = 0; i < out.size; ++i) out.p[static_cast<size_t>(i)] *= kMaxMass / mass;
    return out;
  }
  return out;
}

}  // namespace aded
