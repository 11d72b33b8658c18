// A tree of draft tokens rooted at the last emitted token (which is not part of the tree).
// Nodes are stored parents-first; a drafter adds them in decreasing order of confidence, so any
// prefix of the node list is itself a valid tree (the budget controller truncates that way).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "aded/sampler.h"

namespace aded {

class DraftTree {
 public:
  static constexpr int32_t kRoot = -1;

  void clear();
  int size() const { return static_cast<int>(tokens_.size()); }
  bool empty() const { return tokens_.empty(); }

  // Adds a child of `parent` (kRoot or an existing node) and returns its index. confidence: the
  // drafter's estimate that the target accepts the whole path to this node, in [0, 1]. Returns
  // the existing node when parent already has a child with this token, unless allow_duplicate
  // (sampled candidates drawn with replacement may repeat; the verifier tries them in turn).
  int add(int32_t parent, int32_t token, float confidence, bool allow_duplicate = false);
  // Optional: the distribution the node's token was sampled from (stochastic drafters only).
  void set_draft_distribution(int node, std::vector<TokenProb> q);
  // Candidates sampled without replacement at each node (SpecInfer's rule then restricts q).
  void set_sampled_without_replacement(bool v) { without_replacement_ = v; }

  // Keeps the first n nodes (valid because parents come first).
  void truncate(int n);
  // Drops every node deeper than max_depth.
  void limit_depth(int max_depth);
  // Reorders nodes by decreasing confidence, parents still first (stable for equal confidences).
  void sort_by_confidence();

  int32_t token(int i) const { return tokens_[static_cast<size_t>(i)]; }
  int32_t parent(int i) const { return parents_[static_cast<size_t>(i)]; }
  int depth(int i) const { return depths_[static_cast<size_t>(i)]; }  // children of the root: 1
  float confidence(int i) const { return confidence_[static_cast<size_t>(i)]; }
  bool has_draft_distributions() const { return !q_.empty(); }
  const std::vector<TokenProb>& draft_distribution(int i) const { return q_[static_cast<size_t>(i)]; }
  bool sampled_without_replacement() const { return without_replacement_; }
  std::span<const int32_t> tokens() const { return tokens_; }
  std::span<const int32_t> parents() const { return parents_; }
  int max_depth() const;
  // Child of `parent` (kRoot allowed) carrying `token`, or -1.
  int find_child(int32_t parent, int32_t token) const;
  // Children of `parent` in insertion order.
  void children(int32_t parent, std::vector<int>& out) const;

 private:
  std::vector<int32_t> tokens_, parents_, depths_;
  std::vector<float> confidence_;
  std::vector<std::vector<TokenProb>> q_;
  bool without_replacement_ = false;
};

}  // namespace aded
