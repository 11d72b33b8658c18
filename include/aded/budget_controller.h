// Chooses how much of a draft tree to verify. Verifying n tokens costs c(n) (the target's own cost
// curve, measured); a node is accepted with a probability estimated from the drafter's confidence,
// calibrated online against what the target actually accepted. Each step keeps the prefix of the
// tree (nodes come most confident first) that maximizes expected tokens per second:
//     (1 + sum of calibrated node probabilities) / c(1 + nodes kept).
// A drafter whose drafts keep failing gets calibrated probabilities near zero, the controller keeps
// no nodes, and the step costs what plain decoding costs. That comparison needs a current cost of
// plain steps, which a controller that always drafts never measures again: every kExploreSteps
// steps without one, it keeps no nodes once (~0.3% of the throughput of a good drafter).
#pragma once

#include <array>
#include <vector>

#include "aded/draft_tree.h"
#include "aded/tree_verifier.h"

namespace aded {

class BudgetController {
 public:
  explicit BudgetController(int max_nodes);

  // Seeds or refines the cost of a forward of n tokens.
  void record_cost(int n, double seconds);
  // Cost of a forward of n tokens, interpolated from what has been measured (seconds).
  double cost(int n) const;
  bool has_costs() const;

  // How many leading nodes of the tree to verify. With adaptive off: min(size, max_nodes).
  static constexpr int kExploreSteps = 64;
  int choose(const DraftTree& tree) const;
  void set_adaptive(bool adaptive) { adaptive_ = adaptive; }
  int max_nodes() const { return max_nodes_; }

  // Updates the calibration with which of the verified nodes were accepted.
  void record_outcome(const DraftTree& verified, const VerifyResult& result);
  // Calibrated acceptance probability for a drafter confidence.
  double acceptance(float confidence) const;

 private:
  static constexpr int kBuckets = 20;
  int max_nodes_;
  bool adaptive_ = true;
  std::array<double, kBuckets> hits_{}, trials_{};
  std::vector<double> cost_;  // index n: EMA of seconds, 0 = unknown
  int steps_since_plain_ = 0;  // record_cost calls since the last one with n = 1
};

}  // namespace aded
