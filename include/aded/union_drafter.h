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
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "aded/drafter.h"

namespace aded {

std::unique_ptr<Drafter> make_union_drafter(std::vector<std::unique_ptr<Drafter>> members);

}  // namespace aded
