// BudgetController: the cost curve (measured points, EMA, interpolation), the calibration of
// drafter confidences against what the target accepted, and the choice of the tree prefix that
// maximizes expected tokens per second.
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

TEST(BudgetController, NegativeBudgetIsAnInputError) {
  EXPECT_THROW(BudgetController(-1), InputError);
  EXPECT_NO_THROW(BudgetController(0));
}

TEST(BudgetController, CostsAreInterpolatedBetweenMeasuredSizes) {
  BudgetController b(16);
  EXPECT_FALSE(b.has_costs());
  b.record_cost(4, 2.5);
  EXPECT_FALSE(b.has_costs()) << "the cost of one token is what matters";
  b.record_cost(1, 1.0);
  EXPECT_TRUE(b.has_costs());
  EXPECT_DOUBLE_EQ(b.cost(1), 1.0);
  EXPECT_DOUBLE_EQ(b.cost(4), 2.5);
  EXPECT_DOUBLE_EQ(b.cost(2), 1.5);
  EXPECT_DOUBLE_EQ(b.cost(3), 2.0);
  b.record_cost(8, 3.0);
  EXPECT_DOUBLE_EQ(b.cost(6), 2.75);
  // Beyond the largest measurement the cost keeps growing (never below the last measured).
  EXPECT_GE(b.cost(12), b.cost(8));
  EXPECT_GE(b.cost(17), b.cost(12));
  // Sizes the controller cannot hold and non-positive times are ignored.
  b.record_cost(0, 5.0);
  b.record_cost(100, 5.0);
  b.record_cost(2, 0.0);
  b.record_cost(2, -1.0);
  EXPECT_DOUBLE_EQ(b.cost(2), 1.5);
}

TEST(BudgetController, RepeatedMeasurementsAreSmoothed) {
  BudgetController b(4);
  b.record_cost(1, 1.0);
  b.record_cost(1, 2.0);
  EXPECT_NEAR(b.cost(1), 1.2, 1e-12);  // EMA with weight 0.2 for the new sample
  for (int i = 0; i < 200; ++i) b.record_cost(1, 2.0);
  EXPECT_NEAR(b.cost(1), 2.0, 1e-9);
}

TEST(BudgetController, OnlyTheSmallestSizeMeasuredIsFlatBelow) {
  BudgetController b(8);
  b.record_cost(4, 2.0);
  EXPECT_DOUBLE_EQ(b.cost(2), 2.0);
  EXPECT_DOUBLE_EQ(b.cost(1), 2.0);
}

TEST(BudgetController, UncalibratedAcceptanceIsTheDrafterConfidence) {
  BudgetController b(8);
  for (float c : {0.0f, 0.12f, 0.5f, 0.97f}) EXPECT_NEAR(b.acceptance(c), c, 1e-6);
}

TEST(BudgetController, CalibrationFollowsWhatTheTargetAccepted) {
  BudgetController b(8);
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

TEST(BudgetController, FailingDrafterGetsNoNodes) {
  BudgetController b(16);
  // A realistic cost curve: each extra token costs 10% of a one-token forward.
  for (int n = 1; n <= 17; ++n) b.record_cost(n, 1.0 + 0.1 * (n - 1));
  const DraftTree tree = chain(16, 0.8f);
  EXPECT_GT(b.choose(tree), 0) << "before calibration the drafter's confidence is trusted";
  teach(b, tree, /*accepted=*/false, 40);
  EXPECT_LT(b.acceptance(0.8f), 0.02);
  EXPECT_EQ(b.choose(tree), 0);
}

TEST(BudgetController, FlatCostsAndHighAcceptanceKeepTheWholeTree) {
  BudgetController b(16);
  for (int n = 1; n <= 17; ++n) b.record_cost(n, 1.0);
  const DraftTree tree = chain(20, 0.9f);
  teach(b, chain(10, 0.9f), /*accepted=*/true, 20);
  EXPECT_EQ(b.choose(tree), 16) << "capped by max_nodes";
  EXPECT_EQ(b.choose(chain(5, 0.9f)), 5);
}

TEST(BudgetController, ChoosesTheBestPrefixForTheCostCurve) {
  BudgetController b(16);
  // Two nodes are free, then every token costs three one-token forwards: keep exactly two.
  b.record_cost(1, 1.0);
  b.record_cost(2, 1.0);
  b.record_cost(3, 1.0);
  for (int n = 4; n <= 17; ++n) b.record_cost(n, 3.0 * n);
  EXPECT_EQ(b.choose(chain(10, 0.9f)), 2);
  // Low-confidence nodes are not worth even a small cost.
  BudgetController c(16);
  for (int n = 1; n <= 17; ++n) c.record_cost(n, 1.0 + 0.5 * (n - 1));
  EXPECT_EQ(c.choose(chain(10, 0.05f)), 0);
  EXPECT_GT(c.choose(chain(10, 1.0f)), 0);
}

TEST(BudgetController, FixedBudgetIgnoresCostsAndCalibration) {
  BudgetController b(6);
  for (int n = 1; n <= 7; ++n) b.record_cost(n, static_cast<double>(n * n));
  teach(b, chain(6, 0.5f), /*accepted=*/false, 100);
  b.set_adaptive(false);
  EXPECT_EQ(b.choose(chain(10, 0.5f)), 6);
  EXPECT_EQ(b.choose(chain(3, 0.5f)), 3);
  EXPECT_EQ(b.choose(DraftTree{}), 0);
  b.set_adaptive(true);
  EXPECT_EQ(b.choose(chain(10, 0.5f)), 0);
  // Without measured costs even an adaptive controller keeps min(size, max_nodes).
  BudgetController fresh(6);
  EXPECT_EQ(fresh.choose(chain(10, 0.01f)), 6);
  BudgetController zero(0);
  EXPECT_EQ(zero.choose(chain(10, 1.0f)), 0);
}

// A controller that keeps drafting re-times a plain step once every kExploreSteps verifications
// (it could never notice plain steps getting cheaper otherwise), and only then.
TEST(BudgetController, RetimesAPlainStepAfterManyDraftedOnes) {
  BudgetController b(8);
  b.record_cost(4, 1.1);
  b.record_cost(8, 1.3);
  b.record_cost(1, 1.0);
  const DraftTree tree = chain(6, 0.9f);
  teach(b, tree, /*accepted=*/true, 20);
  ASSERT_GT(b.choose(tree), 0);
  for (int step = 0; step < BudgetController::kExploreSteps - 1; ++step) {
    b.record_cost(b.choose(tree) + 1, 1.2);
    ASSERT_GT(b.choose(tree), 0) << step;
  }
  b.record_cost(7, 1.2);
  EXPECT_EQ(b.choose(tree), 0);
  b.record_cost(1, 1.0);  // the plain step it asked for
  EXPECT_GT(b.choose(tree), 0);
}

}  // namespace
}  // namespace aded
