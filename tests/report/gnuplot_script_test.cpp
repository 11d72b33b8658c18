// The gnuplot input of a chart: texts only ever inside string literals, one legend entry and
// one color per series name, and the layout's room for each part.
#include "report/gnuplot_script.h"

#include <gtest/gtest.h>

#include "report/chart_layout.h"
#include "report/chart_samples.h"

namespace aded::report {
namespace {

TEST(GnuplotString, QuotesAreDoubledAndLineBreaksFlattened) {
  EXPECT_EQ(gnuplot_string("plain"), "'plain'");
  EXPECT_EQ(gnuplot_string("it's"), "'it''s'");
  EXPECT_EQ(gnuplot_string("a\nb\tc"), "'a b c'");
  EXPECT_EQ(gnuplot_string("\\n \"x\" `cmd` $1 @x"), "'\\n \"x\" `cmd` $1 @x'");
  EXPECT_EQ(gnuplot_string(""), "''");
}

TEST(ChartLayout, OneLegendEntryAndColorPerSeriesName) {
  const Chart chart = testing::bench_like_chart();
  const auto legend = legend_entries(chart);
  ASSERT_EQ(legend.size(), 4u);  // pld, aded, oracle and the reference line
  EXPECT_EQ(legend[0].name, "pld");
  EXPECT_EQ(legend[2].name, "oracle:max=4");
  EXPECT_EQ(legend[3].name, "1.0x = plain decoding");
  EXPECT_EQ(legend[3].style, LegendEntry::Style::kReference);
  EXPECT_NE(legend[0].color, legend[1].color);
  EXPECT_NE(legend[1].color, legend[2].color);
}

TEST(ChartLayout, UnnamedSeriesHaveAColorButNoLegendEntry) {
  Chart chart = testing::bench_like_chart();
  chart.panels[0].series[0].name = chart.panels[1].series[0].name = "";
  chart.panels[0].series[1].color = chart.panels[1].series[1].color = "#123456";
  const ChartLayout layout = layout_chart(chart);
  EXPECT_EQ(layout.legend.size(), 3u);
  EXPECT_EQ(layout.series_colors.count(""), 1u);
  EXPECT_EQ(layout.series_colors.at("aded"), "#123456");
  EXPECT_NO_THROW(gnuplot_input(chart, ImageFormat::kSvg, "d.dat", "o.svg"));
}

TEST(ChartLayout, PartsDoNotOverlap) {
  const Chart chart = testing::bench_like_chart();
  const ChartLayout layout = layout_chart(chart);
  ASSERT_EQ(layout.panels.size(), 2u);
  const PanelLayout& left = layout.panels[0];
  const PanelLayout& right = layout.panels[1];
  EXPECT_LT(left.right, right.left);
  EXPECT_GT(left.left, 0.0);
  EXPECT_LT(right.right, 1.0);
  EXPECT_LT(left.top, layout.subtitle_y);
  EXPECT_LT(layout.subtitle_y, layout.title_y);
  EXPECT_LT(layout.legend_top, left.bottom);
  for (const auto& e : layout.legend) {
    EXPECT_GT(e.y, 0.0);
    EXPECT_LT(e.y, layout.legend_top);
    EXPECT_GT(e.x, 0.0);
  }
  // The tallest bar (2.72) stays under the top of its axis, leaving room for its label.
  EXPECT_GT(left.y.high, 2.72);
  EXPECT_EQ(left.y.low, 0.0);
}

TEST(ChartLayout, CrowdedBarsDropTheirValueLabels) {
  Chart chart = testing::bench_like_chart();
  chart.width = 400;
  const ChartLayout layout = layout_chart(chart);
  EXPECT_NE(layout.panels[0].value_labels, ValueLabels::kHorizontal);
}

TEST(GnuplotInput, TitlesAreLiteralsAndDataHasOneBlockPerSeries) {
  Chart chart = testing::bench_like_chart();
  chart.title = "x'; system 'echo hi'; '";
  const GnuplotInput in = gnuplot_input(chart, ImageFormat::kPng, "/tmp/d.dat", "/tmp/o.png");
  EXPECT_NE(in.script.find("'x''; system ''echo hi''; '''"), std::string::npos) << in.script;
  EXPECT_NE(in.script.find("set terminal pngcairo"), std::string::npos);
  EXPECT_NE(in.script.find("set output '/tmp/o.png'"), std::string::npos);
  size_t blocks = 1;
  for (size_t at = in.data.find("\n\n\n"); at != std::string::npos;
       at = in.data.find("\n\n\n", at + 1))
    ++blocks;
  EXPECT_EQ(blocks, 6u);  // 3 series x 2 panels
}

}  // namespace
}  // namespace aded::report
