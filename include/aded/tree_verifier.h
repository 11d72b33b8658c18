// Verifies a draft tree with one forward pass of the target: [last token, tree nodes] under a tree
// attention mask, then walks the tree with the rules of docs/VERIFY.md and keeps the cache cells of
// the accepted path. Greedy output, and sampled output with deterministic drafts, are identical to
// plain decoding: the same logits (the forward is batch-invariant) and the same position-keyed
// random numbers decide every token.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "aded/context.h"
#include "aded/draft_tree.h"
#include "aded/sampler.h"

namespace aded {

struct VerifyResult {
  std::vector<int32_t> emitted;     // the accepted draft tokens, then one token from the target
  std::vector<int> accepted_nodes;  // tree indices of the accepted drafts, root to leaf
};

class TreeVerifier {
 public:
  TreeVerifier(Context& context, const Sampler& sampler);

  // history: all tokens so far; its last token is the one just emitted, not yet in the cache
  // (so history.size() == context.n_past() + 1). Throws Error if the tree does not fit.
  VerifyResult verify(const DraftTree& tree, std::span<const int32_t> history);

 private:
  int32_t walk_deterministic(int batch_index, int64_t position, std::span<const int32_t> recent);
  // SpecInfer multi-candidate rule at one node; returns the accepted child or -1 (then *bonus).
  int walk_stochastic(const DraftTree& tree, int node, int batch_index, int64_t position,
                      std::span<const int32_t> recent, int32_t* bonus);

  Context& ctx_;
  const Sampler& sampler_;
  Batch batch_;
  std::vector<int> children_;
  std::vector<TokenProb> dist_;
  std::vector<double> residual_, q_;
  std::vector<int32_t> recent_;
};

}  // namespace aded
