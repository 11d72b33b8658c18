// One tree from several drafters: ADED's n-gram branches and a draft model's chain, say. Each
// member proposes for the same request; each of its nodes gets the probability that the target
// accepts it, calibrated per member (ConfidenceCalibration) against what the target accepted of
// that member's earlier nodes, so members whose confidences mean different things can be compared;
// the nodes go into one tree, most likely first, and the budget keeps the best of all of them.
//
// Nodes of deterministic members with the same path merge (the larger probability stands). When
// the target samples and a member samples its drafts (a draft model, with q attached), its nodes
// stay separate candidates, even beside a deterministic node with the same token, and deterministic
// nodes carry q = the point mass on their token: the verifier's multi-candidate rule is exact for
// any mix of candidates each drawn from its own q (VERIFY.md), and an n-gram draft is a draw from
// its point mass. A sampled node's probability is computed from its member's confidence, which
// never depends on the token drawn (model_drafters.h), so the order of candidates stays exact too.
//
// A cascade: members after the first are asked only when the first member's most confident node
// is accepted with a calibrated probability of at most ask_below. ADED first and a draft model
// second: the model, which costs several times ADED's search, drafts where ADED is unsure (the
// model's catch-up over the tokens it skipped is paid when it is next asked). The decision comes
// before the later members draft and from the first member's confidence alone, so sampled
// candidates stay exact.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "aded/drafter.h"

namespace aded {

struct UnionOptions {
  double ask_below = 1.0;  // 1: every member drafts every step
};

std::unique_ptr<Drafter> make_union_drafter(std::vector<std::unique_ptr<Drafter>> members, UnionOptions options = {});

}  // namespace aded
