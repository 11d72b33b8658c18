#include "aded/draft_tree.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "aded/error.h"

namespace aded {

void DraftTree::clear() {
  tokens_.clear();
  parents_.clear();
  depths_.clear();
  confidence_.clear();
  q_.clear();
  without_replacement_ = false;
}

int DraftTree::find_child(int32_t parent, int32_t token) const {
  // Trees are small (tens of nodes): a scan beats any index.
  for (size_t i = 0; i < tokens_.size(); ++i)
    if (parents_[i] == parent && tokens_[i] == token) return static_cast<int>(i);
  return -1;
}

void DraftTree::children(int32_t parent, std::vector<int>& out) const {
  out.clear();
  for (size_t i = 0; i < tokens_.size(); ++i)
    if (parents_[i] == parent) out.push_back(static_cast<int>(i));
}

int DraftTree::add(int32_t parent, int32_t token, float confidence, bool allow_duplicate) {
  if (parent < kRoot || parent >= size()) throw Error("DraftTree::add: parent out of range");
  if (!allow_duplicate)
    if (const int existing = find_child(parent, token); existing >= 0) return existing;
  tokens_.push_back(token);
  parents_.push_back(parent);
  depths_.push_back(parent == kRoot ? 1 : depths_[static_cast<size_t>(parent)] + 1);
  confidence_.push_back(std::isfinite(confidence) ? std::clamp(confidence, 0.0f, 1.0f) : 0.0f);
  if (!q_.empty()) q_.emplace_back();
  return size() - 1;
}

void DraftTree::set_draft_distribution(int node, std::vector<TokenProb> q) {
  if (q_.empty()) q_.resize(tokens_.size());
  q_[static_cast<size_t>(node)] = std::move(q);
}

void DraftTree::truncate(int n) {
  if (n < 0 || n >= size()) return;
  const auto k = static_cast<size_t>(n);
  tokens_.resize(k);
  parents_.resize(k);
  depths_.resize(k);
  confidence_.resize(k);
  if (!q_.empty()) q_.resize(k);
}

int DraftTree::max_depth() const { return depths_.empty() ? 0 : *std::max_element(depths_.begin(), depths_.end()); }

void DraftTree::sort_by_confidence() {
  // Topological order by confidence: repeatedly take the most confident node whose parent is placed.
  const size_t n = tokens_.size();
  std::vector<int> order;
  order.reserve(n);
  std::vector<int> new_index(n, -1);
  std::vector<char> placed(n, 0);
  for (size_t step = 0; step < n; ++step) {
    int best = -1;
    for (size_t i = 0; i < n; ++i) {
      if (placed[i]) continue;
      const int32_t p = parents_[i];
      if (p != kRoot && !placed[static_cast<size_t>(p)]) continue;
      if (best < 0 || confidence_[i] > confidence_[static_cast<size_t>(best)]) best = static_cast<int>(i);
    }
    placed[static_cast<size_t>(best)] = 1;
    new_index[static_cast<size_t>(best)] = static_cast<int>(order.size());
    order.push_back(best);
  }
  DraftTree sorted;
  sorted.without_replacement_ = without_replacement_;
  for (int old : order) {
    const auto o = static_cast<size_t>(old);
    const int32_t p = parents_[o] == kRoot ? kRoot : new_index[static_cast<size_t>(parents_[o])];
    sorted.tokens_.push_back(tokens_[o]);
    sorted.parents_.push_back(p);
    sorted.depths_.push_back(depths_[o]);
    sorted.confidence_.push_back(confidence_[o]);
    if (!q_.empty()) sorted.q_.push_back(std::move(q_[o]));
  }
  *this = std::move(sorted);
}

}  // namespace aded

namespace aded {

void DraftTree::limit_depth(int max_depth) {
  if (this->max_depth() <= max_depth) return;
  DraftTree kept;
  kept.without_replacement_ = without_replacement_;
  std::vector<int> new_index(tokens_.size(), -1);
  for (size_t i = 0; i < tokens_.size(); ++i) {
    if (depths_[i] > max_depth) continue;  // ancestors are shallower, so they are kept
    const int32_t p = parents_[i] == kRoot ? kRoot : new_index[static_cast<size_t>(parents_[i])];
    new_index[i] = static_cast<int>(kept.tokens_.size());
    kept.tokens_.push_back(tokens_[i]);
    kept.parents_.push_back(p);
    kept.depths_.push_back(depths_[i]);
    kept.confidence_.push_back(confidence_[i]);
    if (!q_.empty()) kept.q_.push_back(std::move(q_[i]));
  }
  *this = std::move(kept);
}

}  // namespace aded
