#include "aded/budget_controller.h"

#include <algorithm>
#include <cmath>

#include "aded/error.h"

namespace aded {

namespace {
constexpr double kPriorWeight = 2.0;  // pseudo-trials at the drafter's own confidence
constexpr double kDecay = 0.995;      // per verified node: recent behaviour matters most
constexpr double kCostSmoothing = 0.2;
}  // namespace

BudgetController::BudgetController(int max_nodes) : max_nodes_(max_nodes) {
  if (max_nodes < 0) fail("the draft budget must be >= 0, not {}", max_nodes);
  cost_.assign(static_cast<size_t>(max_nodes) + 2, 0.0);
}

void BudgetController::record_cost(int n, double seconds) {
  steps_since_plain_ = n == 1 ? 0 : steps_since_plain_ + 1;
  if (n < 1 || static_cast<size_t>(n) >= cost_.size() || !(seconds > 0)) return;
  double& c = cost_[static_cast<size_t>(n)];
  c = c == 0 ? seconds : (1 - kCostSmoothing) * c + kCostSmoothing * seconds;
}

bool BudgetController::has_costs() const { return cost_.size() > 1 && cost_[1] > 0; }

double BudgetController::cost(int n) const {
  if (static_cast<size_t>(n) < cost_.size() && cost_[static_cast<size_t>(n)] > 0) return cost_[static_cast<size_t>(n)];
  // Linear interpolation between the nearest measured sizes; beyond the largest, proportional to n.
  int lo = n, hi = n;
  while (lo > 1 && (static_cast<size_t>(lo) >= cost_.size() || cost_[static_cast<size_t>(lo)] == 0)) --lo;
  while (static_cast<size_t>(hi) < cost_.size() && cost_[static_cast<size_t>(hi)] == 0) ++hi;
  const double c_lo = static_cast<size_t>(lo) < cost_.size() ? cost_[static_cast<size_t>(lo)] : 0;
  if (static_cast<size_t>(hi) >= cost_.size()) return c_lo > 0 ? c_lo * n / std::max(lo, 1) : 1.0;
  const double c_hi = cost_[static_cast<size_t>(hi)];
  if (c_lo == 0) return c_hi;
  return c_lo + (c_hi - c_lo) * (n - lo) / std::max(1, hi - lo);
}

double BudgetController::acceptance(float confidence) const {
  const int b = std::clamp(static_cast<int>(confidence * kBuckets), 0, kBuckets - 1);
  return (hits_[static_cast<size_t>(b)] + kPriorWeight * confidence) / (trials_[static_cast<size_t>(b)] + kPriorWeight);
}

int BudgetController::choose(const DraftTree& tree) const {
  const int available = std::min(tree.size(), max_nodes_);
  if (!adaptive_ || !has_costs()) return available;
  if (steps_since_plain_ >= kExploreSteps) return 0;  // re-time a plain step (see the header)
  double expected = 1.0;
  double best_rate = expected / cost(1);
  int best = 0;
  for (int m = 1; m <= available; ++m) {
    expected += acceptance(tree.confidence(m - 1));
    const double rate = expected / cost(m + 1);
    if (rate > best_rate) {
      best_rate = rate;
      best = m;
    }
  }
  return best;
}

void BudgetController::record_outcome(const DraftTree& verified, const VerifyResult& result) {
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
}

}  // namespace aded
