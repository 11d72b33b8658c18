#include "aded/tree_verifier.h"

#include <algorithm>
#include <cmath>

#include "aded/error.h"

namespace aded {

float token_probability(std::span<const float> logits, int32_t token) {
  if (token < 0 || static_cast<size_t>(token) >= logits.size()) return 0;
  float top = -INFINITY;
  for (float l : logits) top = std::max(top, l);
  if (!std::isfinite(top)) return NAN;
  double sum = 0;
  for (float l : logits) sum += std::exp(static_cast<double>(l) - top);
  return static_cast<float>(std::exp(static_cast<double>(logits[static_cast<size_t>(token)]) - top) / sum);
}

TreeVerifier::TreeVerifier(Context& context, const Sampler& sampler) : ctx_(context), sampler_(sampler) {}

VerifyResult TreeVerifier::verify(const DraftTree& tree, std::span<const int32_t> history) {
  const int32_t n_past = ctx_.n_past();
  if (history.empty() || static_cast<int64_t>(history.size()) != n_past + 1)
    throw Error("verify: history must end with the one token not yet in the cache");
  const int n = tree.size() + 1;
  if (n_past + n > ctx_.n_ctx()) throw Error("verify: the draft tree does not fit in the context");

  // Batch: the last emitted token at n_past, each node at n_past + depth.
  batch_.tokens.assign(1, history.back());
  batch_.positions.assign(1, n_past);
  std::vector<int32_t> parents(1, -1);
  for (int i = 0; i < tree.size(); ++i) {
    batch_.tokens.push_back(tree.token(i));
    batch_.positions.push_back(n_past + tree.depth(i));
    parents.push_back(tree.parent(i) + 1);  // root (-1) -> batch index 0
  }
  batch_.mask = AttentionMask::tree(n_past, parents);
  batch_.want_logits.clear();
  batch_.greedy_only = sampler_.params().argmax_only() && !probabilities_;
  ctx_.forward(batch_);

  // The repetition penalty sees each node's own prefix: the recent history, then the path.
  const size_t window = static_cast<size_t>(std::max(0, sampler_.params().repeat_last_n));
  const size_t keep = std::min(history.size(), window);
  recent_.assign(history.end() - static_cast<long>(keep), history.end());

  VerifyResult result;
  std::vector<int32_t> commit(1, 0);
  int node = DraftTree::kRoot;
  int batch_index = 0;
  for (;;) {
    const int64_t position = static_cast<int64_t>(n_past) + (node == DraftTree::kRoot ? 0 : tree.depth(node)) + 1;
    int next = -1;
    int32_t token;
    if (tree.has_draft_distributions()) {
      next = walk_stochastic(tree, node, batch_index, position, recent_, &token);
      if (next >= 0) token = tree.token(next);
    } else {
      token = walk_deterministic(batch_index, position, recent_);
      next = tree.find_child(node, token);
    }
    result.emitted.push_back(token);
    if (probabilities_) result.probabilities.push_back(token_probability(ctx_.logits(batch_index), token));
    if (next < 0) break;
    result.accepted_nodes.push_back(next);
    commit.push_back(next + 1);
    recent_.push_back(token);
    node = next;
    batch_index = next + 1;
  }
  ctx_.commit(commit);
  return result;
}

int32_t TreeVerifier::walk_deterministic(int batch_index, int64_t position, std::span<const int32_t> recent) {
  if (sampler_.params().argmax_only()) {
    const int32_t best = ctx_.greedy_argmax(batch_index);
    if (best >= 0) return best;
  }
  return sampler_.sample(ctx_.logits(batch_index), recent, position);
}

int TreeVerifier::walk_stochastic(const DraftTree& tree, int node, int batch_index, int64_t position,
                                  std::span<const int32_t> recent, int32_t* bonus) {
  sampler_.distribution(ctx_.logits(batch_index), recent, dist_);
  const size_t vocab = ctx_.logits(batch_index).size();
  residual_.assign(vocab, 0.0);
  for (const auto& c : dist_) residual_[static_cast<size_t>(c.id)] = c.p;
  tree.children(node, children_);
  std::vector<int32_t> tried;
  for (size_t k = 0; k < children_.size(); ++k) {
    const int child = children_[k];
    const int32_t t = tree.token(child);
    q_.assign(vocab, 0.0);
    double q_total = 0;
    for (const auto& c : tree.draft_distribution(child)) {
      if (c.id < 0 || static_cast<size_t>(c.id) >= vocab) continue;
      if (tree.sampled_without_replacement() && std::find(tried.begin(), tried.end(), c.id) != tried.end()) continue;
      q_[static_cast<size_t>(c.id)] += c.p;
      q_total += c.p;
    }
    if (q_total > 0)
      for (auto& v : q_) v /= q_total;
    const double qt = q_[static_cast<size_t>(t)], rt = residual_[static_cast<size_t>(t)];
    const double u = position_uniform(sampler_.params().seed, position, static_cast<uint32_t>(1 + k));
    if (qt > 0 && u * qt < rt) return child;  // accept with probability min(1, r(t) / q(t))
    // Rejected: r <- norm(max(0, r - q)).
    double total = 0;
    for (size_t i = 0; i < vocab; ++i) {
      residual_[i] = std::max(0.0, residual_[i] - q_[i]);
      total += residual_[i];
    }
    if (total <= 0) {  // q covered r exactly (only by rounding): fall back to the target
      for (const auto& c : dist_) residual_[static_cast<size_t>(c.id)] = c.p;
    } else {
      for (auto& v : residual_) v /= total;
    }
    tried.push_back(t);
  }
  // Nothing accepted: a sample of the residual (the target itself when there were no children).
  std::vector<TokenProb> r;
  for (size_t i = 0; i < vocab; ++i)
    if (residual_[i] > 0) r.push_back({static_cast<int32_t>(i), static_cast<float>(residual_[i])});
  std::stable_sort(r.begin(), r.end(), [](const TokenProb& a, const TokenProb& b) { return a.p > b.p; });
  *bonus = children_.empty() ? Sampler::draw(dist_, position_uniform(sampler_.params().seed, position))
                             : Sampler::draw(r, position_uniform(sampler_.params().seed, position));
  return -1;
}

}  // namespace aded
