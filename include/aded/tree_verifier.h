// Verifies a draft tree with one forward pass of the target: [last token, tree nodes] under a tree
// attention mask, then walks the tree with the rules of ../shared/docs/VERIFY.md and keeps the cache cells of
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
  std::vector<float> probabilities;  // per emitted token, when asked for (token_probability())
};

// The model's probability of `token` at a row of logits: softmax at temperature 1, before any
// sampling setting (what OpenAI-style logprobs report).
float token_probability(std::span<const float> logits, int32_t token);

class TreeVerifier {
 public:
  TreeVerifier(Context& context, const Sampler& sampler);
  // Report each emitted token's probability (VerifyResult::probabilities). Greedy decoding then
  // computes the whole output head instead of only the argmax candidates.
  void set_token_probabilities(bool on) { probabilities_ = on; }

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
  bool probabilities_ = false;
  Batch batch_;
  std::vector<int> children_;
  std::vector<TokenProb> dist_;
  std::vector<double> residual_, q_;
  std::vector<int32_t> recent_;
};

}  // namespace aded
