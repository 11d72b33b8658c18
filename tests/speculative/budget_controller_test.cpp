// BudgetController: the calibration of drafter confidences against what the target accepted, the
// choice of the tree prefix that maximizes expected tokens per second, and the request made
// before drafting, which prices the drafter's own cost.
#include <gtest/gtest.h>

#include "aded/budget_controller.h"
#include "aded/error.h"

namespace aded {
namespace {

DraftTree chain(int n, float confidence) {
  DraftTree t;
  int32_t parent = DraftTree::kRoot;
  for (int i = 0; i < n; ++i) parent = t.add(parent, 100 + i, confidence);
  return t;
}

// Records that the target accepted (or rejected) every node of `tree`, `times` times.
void teach(BudgetController& b, const DraftTree& tree, bool accepted, int times) {
  VerifyResult r;
  if (accepted)
    for (int i = 0; i < tree.size(); ++i) r.accepted_nodes.push_back(i);
  for (int k = 0; k < times; ++k) b.record_outcome(tree, r);
}

// c(n) = base + slope * (n - 1) for n = 1..size.
CostCurve linear_costs(double base, double slope, int size = 64) {
  CostCurve c(size);
  for (int n = 1; n <= size; ++n) c.record(n, base + slope * (n - 1));
  return c;
}

BudgetController controller(int max_nodes, bool adaptive = true) {
  return BudgetController(
      DraftLimits{.max_nodes = max_nodes, .max_depth = 32, .adaptive_budget = adaptive});
}

TEST(BudgetController, BadLimitsAreInputErrors) {
  EXPECT_THROW(controller(-1), InputError);
  EXPECT_THROW(BudgetController(DraftLimits{.max_nodes = 4, .max_depth = 0}), InputError);
  EXPECT_NO_THROW(controller(0));
}

TEST(BudgetController, UncalibratedAcceptanceIsTheDrafterConfidence) {
  const BudgetController b = controller(8);
  for (float c : {0.0f, 0.12f, 0.5f, 0.97f}) EXPECT_NEAR(b.acceptance(c), c, 1e-6);
}

TEST(BudgetController, CalibrationFollowsWhatTheTargetAccepted) {
  BudgetController b = controller(8);
  teach(b, chain(4, 0.9f), /*accepted=*/false, 50);
  EXPECT_LT(b.acceptance(0.9f), 0.05);
  teach(b, chain(4, 0.2f), /*accepted=*/true, 50);
  EXPECT_GT(b.acceptance(0.2f), 0.95);
  // Other confidence buckets keep their prior.
  EXPECT_NEAR(b.acceptance(0.55f), 0.55, 1e-6);
  // Recent behaviour wins: a drafter that starts succeeding is trusted again.
  teach(b, chain(4, 0.9f), /*accepted=*/true, 400);
  EXPECT_GT(b.acceptance(0.9f), 0.8);
}

TEST(BudgetController, RankAcceptanceFollowsWhichNodesWereAccepted) {
  BudgetController b = controller(8);
  EXPECT_DOUBLE_EQ(b.rank_acceptance(3), 1.0) << "an untried rank is worth trying";
  VerifyResult first_two;
  first_two.accepted_nodes = {0, 1};
  for (int k = 0; k < 200; ++k) b.record_outcome(chain(6, 0.5f), first_two);
  EXPECT_GT(b.rank_acceptance(0), 0.95);
  EXPECT_GT(b.rank_acceptance(1), 0.95);
  EXPECT_LT(b.rank_acceptance(2), 0.05);
  EXPECT_LT(b.rank_acceptance(5), 0.05);
  EXPECT_DOUBLE_EQ(b.rank_acceptance(8), 0.0) << "beyond the budget";
}

TEST(BudgetController, FailingDrafterGetsNoNodes) {
  BudgetController b = controller(16);
  // A realistic cost curve: each extra token costs 10% of a one-token forward.
  const CostCurve target = linear_costs(1.0, 0.1);
  const DraftTree tree = chain(16, 0.8f);
  EXPECT_GT(b.choose(tree, target), 0) << "before calibration the drafter's confidence is trusted";
  teach(b, tree, /*accepted=*/false, 40);
  EXPECT_LT(b.acceptance(0.8f), 0.02);
  EXPECT_EQ(b.choose(tree, target), 0);
}

TEST(BudgetController, FlatCostsAndHighAcceptanceKeepTheWholeTree) {
  BudgetController b = controller(16);
  const CostCurve target = linear_costs(1.0, 0.0);
  teach(b, chain(10, 0.9f), /*accepted=*/true, 20);
  EXPECT_EQ(b.choose(chain(20, 0.9f), target), 16) << "capped by max_nodes";
  EXPECT_EQ(b.choose(chain(5, 0.9f), target), 5);
}

TEST(BudgetController, ChoosesTheBestPrefixForTheCostCurve) {
  const BudgetController b = controller(16);
  // Two nodes are free, then every token costs three one-token forwards: keep exactly two.
  CostCurve steep(32);
  for (int n = 1; n <= 3; ++n) steep.record(n, 1.0);
  for (int n = 4; n <= 17; ++n) steep.record(n, 3.0 * n);
  EXPECT_EQ(b.choose(chain(10, 0.9f), steep), 2);
  // Low-confidence nodes are not worth even a small cost.
  const CostCurve gentle = linear_costs(1.0, 0.5);
  EXPECT_EQ(b.choose(chain(10, 0.05f), gentle), 0);
  EXPECT_GT(b.choose(chain(10, 1.0f), gentle), 0);
}

// The drafting time already spent belongs to the step: with it, verifying more pays sooner.
TEST(BudgetController, DraftingTimeSpentFavoursUsingTheDraft) {
  const BudgetController b = controller(16);
  const CostCurve target = linear_costs(1.0, 0.5);
  const DraftTree tree = chain(8, 0.3f);
  const int without = b.choose(tree, target, 0.0);
  const int with = b.choose(tree, target, 5.0);
  EXPECT_GE(with, without);
  EXPECT_GT(with, 0);
}

TEST(BudgetController, FixedBudgetIgnoresCostsAndCalibration) {
  BudgetController b = controller(6, /*adaptive=*/false);
  CostCurve target(8);
  for (int n = 1; n <= 7; ++n) target.record(n, static_cast<double>(n * n));
  teach(b, chain(6, 0.5f), /*accepted=*/false, 100);
  EXPECT_EQ(b.choose(chain(10, 0.5f), target), 6);
  EXPECT_EQ(b.choose(chain(3, 0.5f), target), 3);
  EXPECT_EQ(b.choose(DraftTree{}, target), 0);
  const CostCurve expensive = linear_costs(100.0, 0.0, 8);
  EXPECT_EQ(b.request(target, expensive, 100), 6);
  EXPECT_EQ(b.request(target, expensive, 4), 4) << "room in the context";
  BudgetController adaptive = controller(6);
  teach(adaptive, chain(6, 0.5f), /*accepted=*/false, 100);
  EXPECT_EQ(adaptive.choose(chain(10, 0.5f), target), 0);
  // Without measured costs even an adaptive controller keeps min(size, max_nodes).
  EXPECT_EQ(controller(6).choose(chain(10, 0.01f), CostCurve(8)), 6);
  EXPECT_EQ(controller(0).choose(chain(10, 1.0f), target), 0);
}

// A controller that keeps drafting re-times a plain step once every kExploreSteps verifications
// (it could never notice plain steps getting cheaper otherwise), and only then.
TEST(BudgetController, RetimesAPlainStepAfterManyDraftedOnes) {
  BudgetController b = controller(8);
  CostCurve target(16);
  target.record(4, 1.1);
  target.record(8, 1.3);
  target.record(1, 1.0);
  const DraftTree tree = chain(6, 0.9f);
  teach(b, tree, /*accepted=*/true, 20);
  ASSERT_GT(b.choose(tree, target), 0);
  for (int step = 0; step < BudgetController::kExploreSteps - 1; ++step) {
    b.record_step(true, b.choose(tree, target));
    ASSERT_GT(b.choose(tree, target), 0) << step;
  }
  b.record_step(true, 6);
  EXPECT_EQ(b.choose(tree, target), 0);
  b.record_step(true, 0);  // the plain step it asked for
  EXPECT_GT(b.choose(tree, target), 0);
}

// Before drafting: a cheap drafter gets the whole budget, an expensive one what pays, and one
// that cannot pay even when always right gets nothing (the step is then a plain one).
TEST(BudgetController, RequestPricesTheDrafter) {
  const CostCurve target = linear_costs(1.0, 0.05);
  BudgetController b = controller(16);
  EXPECT_EQ(b.request(target, CostCurve(16, CostCurve::BelowSmallest::ProportionalToZero), 100), 16)
      << "an unmeasured drafter is tried with everything";
  CostCurve cheap(16, CostCurve::BelowSmallest::ProportionalToZero);
  cheap.record(16, 0.01);
  EXPECT_EQ(b.request(target, cheap, 100), 16);
  EXPECT_EQ(b.request(target, cheap, 5), 5) << "room in the context";
  // Each node costs 0.3 of a forward to draft: worth it only while nodes are likely accepted.
  CostCurve per_node(16, CostCurve::BelowSmallest::ProportionalToZero);
  for (int m = 1; m <= 16; ++m) per_node.record(m, 0.3 * m);
  VerifyResult first_three;
  first_three.accepted_nodes = {0, 1, 2};
  for (int k = 0; k < 200; ++k) b.record_outcome(chain(16, 0.5f), first_three);
  EXPECT_EQ(b.request(target, per_node, 100), 3);
  // Thirty forwards per proposal: not even a perfect draft pays.
  CostCurve slow(16, CostCurve::BelowSmallest::ProportionalToZero);
  slow.record(16, 30.0);
  BudgetController fresh = controller(16);
  EXPECT_EQ(fresh.request(target, slow, 100), 0);
}

// A chain drafter asked for sixteen nodes that always stops after two (an exit rule) is worth two
// nodes, not sixteen: the ranks it was asked for and did not produce count as misses. Without
// that, every produced node being accepted made all sixteen ranks look certain, and an expensive
// chain was asked for sixteen every step.
TEST(BudgetController, RanksAskedForAndNotProducedAreMisses) {
  const CostCurve target = linear_costs(1.0, 0.05);
  CostCurve per_node(16, CostCurve::BelowSmallest::ProportionalToZero);
  for (int m = 1; m <= 16; ++m) per_node.record(m, 0.3 * m);
  VerifyResult both;
  both.accepted_nodes = {0, 1};
  BudgetController b = controller(16);
  for (int k = 0; k < 200; ++k)
    b.record_outcome(chain(2, 0.9f), both, /*requested=*/16, /*produced=*/2);
  EXPECT_GT(b.rank_acceptance(1), 0.95);
  EXPECT_LT(b.rank_acceptance(2), 0.05);
  EXPECT_EQ(b.request(target, per_node, 100), 2);
  // Nodes produced but cut before verification say nothing: rank 2 keeps its prior.
  BudgetController cut = controller(16);
  for (int k = 0; k < 200; ++k)
    cut.record_outcome(chain(2, 0.9f), both, /*requested=*/16, /*produced=*/5);
  EXPECT_EQ(cut.rank_acceptance(2), controller(16).rank_acceptance(2));
  EXPECT_LT(cut.rank_acceptance(5), 0.05);
}

// A drafter skipped for its cost is asked again once every kExploreSteps steps (its cost or its
// acceptance may have changed), and only then.
TEST(BudgetController, ReconsidersASkippedDrafter) {
  const CostCurve target = linear_costs(1.0, 0.05);
  CostCurve slow(16, CostCurve::BelowSmallest::ProportionalToZero);
  slow.record(16, 30.0);
  BudgetController b = controller(16);
  for (int step = 0; step < BudgetController::kExploreSteps; ++step) {
    ASSERT_EQ(b.request(target, slow, 100), 0) << step;
    b.record_step(false, 0);
  }
  EXPECT_EQ(b.request(target, slow, 100), BudgetController::kExploreNodes);
  b.record_step(true, 2);
  EXPECT_EQ(b.request(target, slow, 100), 0);
}

}  // namespace
}  // namespace aded
