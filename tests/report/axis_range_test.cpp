// Round axis ranges: ticks at 1, 2, 2.5 or 5 times a power of ten, about five intervals covering
// the data.
#include "report/axis_range.h"

#include <gtest/gtest.h>

#include <cmath>

namespace aded::report {
namespace {

void expect_range(const AxisRange& r, double low, double high, double step) {
  EXPECT_DOUBLE_EQ(r.low, low);
  EXPECT_DOUBLE_EQ(r.high, high);
  EXPECT_DOUBLE_EQ(r.step, step);
}

TEST(AxisRange, RoundsUpToAWholeStep) {
  expect_range(round_axis_range(0, 2.29), 0, 2.5, 0.5);
  expect_range(round_axis_range(0, 3.2), 0, 3.5, 0.5);
  expect_range(round_axis_range(0, 5.5), 0, 6, 1);
  expect_range(round_axis_range(0, 0.37), 0, 0.4, 0.05);
  expect_range(round_axis_range(0, 1), 0, 1, 0.2);
  expect_range(round_axis_range(0, 1200), 0, 1250, 250);
}

TEST(AxisRange, CoversNegativeValues) {
  expect_range(round_axis_range(-1.3, 2.1), -1.5, 2.5, 0.5);
}

TEST(AxisRange, ExactMultiplesAddNoEmptyStep) {
  // 0.1 * 3 is 0.30000000000000004 in doubles: still three steps of 0.1.
  const AxisRange r = round_axis_range(0, 0.1 * 3, 3);
  EXPECT_NEAR(r.high, 0.3, 1e-12);
}

TEST(AxisRange, EmptyOrBrokenRangesBecomeZeroToOne) {
  expect_range(round_axis_range(1, 1), 0, 1, 0.2);
  expect_range(round_axis_range(0, NAN), 0, 1, 0.2);
  expect_range(round_axis_range(0, INFINITY), 0, 1, 0.2);
}

TEST(AxisRange, TickDecimalsPrintEveryTickAlike) {
  EXPECT_EQ(tick_decimals({0, 2.5, 0.5}), 1);
  EXPECT_EQ(tick_decimals({0, 1, 0.25}), 2);
  EXPECT_EQ(tick_decimals({0, 4, 1}), 0);
  EXPECT_EQ(tick_decimals({0, 1250, 250}), 0);
}

}  // namespace
}  // namespace aded::report
