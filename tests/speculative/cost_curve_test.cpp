// CostCurve: measured points, their moving average, interpolation between them, extrapolation
// beyond, and the two rules below the smallest measured size.
#include <gtest/gtest.h>

#include "aded/cost_curve.h"
#include "aded/error.h"

namespace aded {
namespace {

TEST(CostCurve, InterpolatesBetweenMeasuredSizes) {
  CostCurve c(16);
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(c.at(3), 0.0) << "nothing measured";
  c.record(4, 2.5);
  c.record(1, 1.0);
  EXPECT_FALSE(c.empty());
  EXPECT_DOUBLE_EQ(c.at(1), 1.0);
  EXPECT_DOUBLE_EQ(c.at(4), 2.5);
  EXPECT_DOUBLE_EQ(c.at(2), 1.5);
  EXPECT_DOUBLE_EQ(c.at(3), 2.0);
  c.record(8, 3.0);
  EXPECT_DOUBLE_EQ(c.at(6), 2.75);
  // Beyond the largest measurement: proportional to the size.
  EXPECT_DOUBLE_EQ(c.at(12), 4.5);
  EXPECT_DOUBLE_EQ(c.at(40), 15.0);
  // Sizes the curve cannot hold and non-positive times are ignored.
  c.record(0, 5.0);
  c.record(17, 5.0);
  c.record(2, 0.0);
  c.record(2, -1.0);
  EXPECT_DOUBLE_EQ(c.at(2), 1.5);
  EXPECT_FALSE(c.measured(2));
  EXPECT_TRUE(c.measured(8));
}

TEST(CostCurve, RepeatedMeasurementsAreSmoothed) {
  CostCurve c(4);
  c.record(1, 1.0);
  c.record(1, 2.0);
  EXPECT_NEAR(c.at(1), 1.2, 1e-12);  // EMA with weight 0.2 for the new sample
  for (int i = 0; i < 200; ++i) c.record(1, 2.0);
  EXPECT_NEAR(c.at(1), 2.0, 1e-9);
}

TEST(CostCurve, BelowTheSmallestMeasuredSize) {
  CostCurve flat(8);
  flat.record(4, 2.0);
  EXPECT_DOUBLE_EQ(flat.at(2), 2.0) << "a forward of fewer tokens is not assumed cheaper";
  EXPECT_DOUBLE_EQ(flat.at(1), 2.0);
  CostCurve drafter(8, CostCurve::BelowSmallest::ProportionalToZero);
  drafter.record(4, 2.0);
  EXPECT_DOUBLE_EQ(drafter.at(2), 1.0);
  EXPECT_DOUBLE_EQ(drafter.at(0), 0.0) << "drafting nothing costs nothing";
}

TEST(CostCurve, NeedsAtLeastOneSize) { EXPECT_THROW(CostCurve(0), InputError); }

}  // namespace
}  // namespace aded
