#include "aded/budget_controller.h"

#include <algorithm>
#include <cmath>

#include "aded/error.h"

namespace aded {

namespace {
constexpr double kPriorWeight = 2.0;  // pseudo-trials at the drafter's own confidence
constexpr double kDecay = 0.995;      // per verified node: recent behaviour matters most
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

double BudgetController::acceptance(float confidence) const {
  const int b = std::clamp(static_cast<int>(confidence * kBuckets), 0, kBuckets - 1);
  return (hits_[static_cast<size_t>(b)] + kPriorWeight * confidence) /
         (trials_[static_cast<size_t>(b)] + kPriorWeight);
}

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
  for (int m = 1; m <= available; ++m) {
    expected += acceptance(tree.confidence(m - 1));
    const double rate = expected / (spent + target.at(m + 1));
    if (rate > best_rate) {
      best_rate = rate;
      best = m;
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
  for (int i = 0; i < verified.size(); ++i) {
    for (size_t b = 0; b < kBuckets; ++b) {
      hits_[b] *= kDecay;
      trials_[b] *= kDecay;
    }
    const int b = std::clamp(static_cast<int>(verified.confidence(i) * kBuckets), 0, kBuckets - 1);
    trials_[static_cast<size_t>(b)] += 1;
    hits_[static_cast<size_t>(b)] += accepted[static_cast<size_t>(i)];
  }
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
