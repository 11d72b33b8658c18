// The chain every model drafter proposes: the drafting model's most likely token after the root
// (or, when the target samples, a token drawn from the model's own distribution, which goes with
// the node), then after that one, and so on, each node's confidence the product of the top
// probabilities so far; it stops at the length limit or after a token less likely than the exit
// threshold (that token is still drafted: it may well be right).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "aded/draft_tree.h"

namespace aded {

struct Guess {
  int32_t token = 0;
  float probability = 0;  // the drafting model's top probability (its confidence)
  std::vector<TokenProb> q{};  // a sampled draft: the distribution it was drawn from (else empty)
};

// step(token): runs the drafting model on `token` (keeping its cell) and returns its guess of the
// next one. Returns true when the chain reached `limit` without exiting early.
template <typename Step>
bool draft_chain(int32_t root, int limit, float exit_threshold, Step&& step, DraftTree& out) {
  int32_t parent = DraftTree::kRoot, token = root;
  float confidence = 1.0f;
  for (int depth = 0; depth < limit; ++depth) {
    Guess g = step(token);
    confidence *= g.probability;
    parent = out.add(parent, g.token, confidence);
    if (!g.q.empty()) out.set_draft_distribution(parent, std::move(g.q));
    token = g.token;
    if (g.probability < exit_threshold) return depth + 1 == limit;
  }
  return true;
}

}  // namespace aded
