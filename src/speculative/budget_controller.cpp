#include "aded/budget_controller.h"

#include <algorithm>
#include <cmath>

#include "aded/error.h"

namespace aded {

namespace {
constexpr double kPriorWeight = ConfidenceCalibration::kPriorWeight;
constexpr double kRankDecay = 0.98;   // per step, for the acceptance by rank
// A drafter costing at most this share of the verification it feeds is treated as free when
// deciding how much to ask for: its tree is cut better after drafting than before.
constexpr double kFreeDraftShare = 0.1;
}  // namespace

BudgetController::BudgetController(DraftLimits limits) : limits_(limits) {
  if (limits_.max_nodes < 0) fail("the draft budget must be >= 0, not {}", limits_.max_nodes);
  if (limits_.max_depth < 1) fail("the draft depth must be >= 1, not {}", limits_.max_depth);
  rank_hits_.assign(static_cast<size_t>(limits_.max_nodes), 0.0);
  rank_trials_.assign(static_cast<size_t>(limits_.max_nodes), 0.0);
}

double BudgetController::acceptance(float confidence) const { return calibration_.acceptance(confidence); }

double BudgetController::rank_acceptance(int k) const {
  if (k < 0 || k >= limits_.max_nodes) return 0;
  // Optimistic prior: a drafter not yet measured at this rank is worth trying.
  return (rank_hits_[static_cast<size_t>(k)] + kPriorWeight) /
         (rank_trials_[static_cast<size_t>(k)] + kPriorWeight);
}

int BudgetController::request(const CostCurve& target, const CostCurve& drafter, int room) const {
  const int most = std::max(0, std::min(limits_.max_nodes, room));
  if (!limits_.adaptive_budget || target.empty() || drafter.empty() || most == 0) return most;
  // Re-measure a drafter skipped for long with a small draft: its first ranks decide whether
  // drafting pays at all, and a full draft of a costly drafter would cost more than the skips
  // saved (16 forwards of a draft model every 64 steps: a quarter of the time).
  if (steps_skipped_ >= kExploreSteps) return std::min(most, kExploreNodes);
  int free_nodes = 0;
  while (free_nodes < most &&
         drafter.at(free_nodes + 1) <= kFreeDraftShare * target.at(free_nodes + 2))
    ++free_nodes;
  if (free_nodes == most) return most;
  double expected = 1.0, best_rate = expected / target.at(1);
  int best = 0;
  for (int m = 1; m <= most; ++m) {
    expected += rank_acceptance(m - 1);
    const double rate = expected / (drafter.at(m) + target.at(m + 1));
    if (rate > best_rate) {
      best_rate = rate;
      best = m;
    }
  }
  return std::max(best, free_nodes);
}

int BudgetController::choose(const DraftTree& tree, const CostCurve& target,
                             double drafting_seconds) const {
  const int available = std::min(tree.size(), limits_.max_nodes);
  if (!limits_.adaptive_budget || target.empty()) return available;
  if (steps_since_plain_ >= kExploreSteps) return 0;  // re-time a plain step (see the header)
  const double spent = std::max(0.0, drafting_seconds);
  double expected = 1.0;
  double best_rate = expected / (spent + target.at(1));
  int best = 0;
  // Sampled drafts (nodes with q): a node may be kept only on what is known when the verifier
  // reaches it, never on the confidences of the nodes below it, which depend on its own token (a
  // sampled token kept more often when it is followed by confident drafts would no longer be a draw
  // from its q, and the verifier's min(1, p/q) would be wrong). So the cut stops at the first node
  // that does not raise the rate. Deterministic drafts: the best prefix, looking ahead.
  const bool look_ahead = !tree.has_draft_distributions();
  for (int m = 1; m <= available; ++m) {
    expected += acceptance(tree.confidence(m - 1));
    const double rate = expected / (spent + target.at(m + 1));
    if (rate > best_rate) {
      best_rate = rate;
      best = m;
    } else if (!look_ahead) {
      break;
    }
  }
  return best;
}

void BudgetController::record_step(bool drafted, int nodes_verified) {
  steps_since_plain_ = nodes_verified == 0 ? 0 : steps_since_plain_ + 1;
  steps_skipped_ = drafted ? 0 : steps_skipped_ + 1;
}

void BudgetController::record_outcome(const DraftTree& verified, const VerifyResult& result,
                                      int requested, int produced) {
  std::vector<char> accepted(static_cast<size_t>(verified.size()), 0);
  for (int i : result.accepted_nodes) accepted[static_cast<size_t>(i)] = 1;
  for (int i = 0; i < verified.size(); ++i) calibration_.record(verified.confidence(i), accepted[static_cast<size_t>(i)] != 0);
  for (size_t k = 0; k < rank_hits_.size(); ++k) {
    rank_hits_[k] *= kRankDecay;
    rank_trials_[k] *= kRankDecay;
    if (k < accepted.size()) {
      rank_trials_[k] += 1;
      rank_hits_[k] += accepted[k];
    } else if (produced >= 0 && static_cast<int>(k) >= produced &&
               static_cast<int>(k) < requested) {
      rank_trials_[k] += 1;  // asked for, not produced
    }
  }
}

}  // namespace aded
