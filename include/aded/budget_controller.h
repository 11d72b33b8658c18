// Decides how much to draft and how much of a draft to verify, per drafter. Verifying n tokens
// costs c_v(n) (the target's cost curve, measured); drafting m nodes costs c_d(m) (the drafter's
// own cost curve, measured the same way); a node is accepted with a probability estimated from the
// drafter's confidence, calibrated online against what the target actually accepted.
//
// Before drafting, request() picks how many nodes to ask for: the m that maximizes expected
// tokens per second (1 + sum of the expected acceptance of the first m nodes) / (c_d(m) +
// c_v(1 + m)), with the acceptance of the k-th node taken from what nodes of that rank achieved
// recently. A drafter whose cost is small next to the verification it feeds gets the whole budget
// (its tree is cut better after drafting, by its nodes' own confidences); an expensive one gets
// what pays, possibly nothing. After drafting, choose() keeps the prefix of the tree (nodes come
// most confident first) with the best expected rate, the drafting time already spent included.
//
// A drafter whose drafts keep failing gets calibrated probabilities near zero, and the step costs
// what plain decoding costs. Comparisons need current costs that a controller could stop
// measuring: every kExploreSteps steps that verified drafts it keeps no nodes once (re-timing a
// plain step), and every kExploreSteps steps that skipped a costly drafter it asks for a small
// draft once (kExploreNodes, re-measuring the drafter's cost and its first ranks' acceptance).
#pragma once

#include <array>
#include <vector>

#include "aded/confidence_calibration.h"
#include "aded/cost_curve.h"
#include "aded/draft_tree.h"
#include "aded/tree_verifier.h"

namespace aded {

// The limits one drafter works within (the method settings max=, depth=, budget=).
struct DraftLimits {
  int max_nodes = 16;           // --draft-max: most draft tokens verified per step
  int max_depth = 32;           // --draft-depth: deepest draft token
  bool adaptive_budget = true;  // off: always verify min(tree, max_nodes) nodes
};

class BudgetController {
 public:
  explicit BudgetController(DraftLimits limits = {});

  static constexpr int kExploreSteps = 64;
  static constexpr int kExploreNodes = 2;  // asked of a skipped drafter when it is re-measured
  // Nodes to ask the drafter for; room: most nodes that fit in the context. 0: skip drafting.
  int request(const CostCurve& target, const CostCurve& drafter, int room) const;
  // How many leading nodes of the tree to verify (drafting_seconds: spent on drafting it). For a
  // tree of sampled drafts, without looking past the first node that does not pay (see the .cpp).
  int choose(const DraftTree& tree, const CostCurve& target, double drafting_seconds = 0) const;

  // After each step: whether the drafter ran and how many nodes were verified.
  void record_step(bool drafted, int nodes_verified);
  // Updates the calibration with which of the verified nodes were accepted.
  // requested, produced (optional): the nodes asked for and the nodes the drafter gave before
  // choose() cut the tree. A rank that was asked for and not produced counts as a miss, so
  // rank_acceptance(k) is the chance that asking for k + 1 nodes yields an accepted k-th one (a
  // chain that usually stops after two nodes does not promise sixteen); a produced node cut before
  // verification counts as nothing.
  void record_outcome(const DraftTree& verified, const VerifyResult& result, int requested = -1,
                      int produced = -1);
  // Calibrated acceptance probability for a drafter confidence.
  double acceptance(float confidence) const;
  // Recent acceptance of the k-th node of a draft (k = 0: the most confident), a node asked for
  // and not produced counting as a miss (see record_outcome).
  double rank_acceptance(int k) const;

  const DraftLimits& limits() const { return limits_; }

 private:
  DraftLimits limits_;
  ConfidenceCalibration calibration_;
  std::vector<double> rank_hits_, rank_trials_;
  int steps_since_plain_ = 0;  // steps that verified drafts since one that verified none
  int steps_skipped_ = 0;      // steps the drafter was not asked since it last was
};

}  // namespace aded
