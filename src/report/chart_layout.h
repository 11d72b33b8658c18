// Where the parts of a chart go, in gnuplot's screen coordinates (0..1 across the image, from
// the bottom left), decided before gnuplot runs so that titles, tick labels, bar labels and the
// legend each get room of their own: nothing overlaps and nothing is clipped.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "aded/plot.h"
#include "report/axis_range.h"

namespace aded::report {

// Font sizes (points) of the chart's texts.
inline constexpr double kTextFont = 10, kTitleFont = 15, kPanelTitleFont = 12, kValueFont = 8;
// The share of a category's slot its group of bars fills; the rest separates the groups.
inline constexpr double kGroupWidth = 0.8;
// Fonts are sized in points at 96 dpi (cairo's PNG; the SVG is scaled to match).
inline constexpr double kPixelsPerPoint = 96.0 / 72.0;

// Width of a text in pixels, estimated from DejaVu Sans's character widths.
double text_width(const std::string& text, double font);

enum class ValueLabels { kNone, kHorizontal, kVertical };

struct PanelLayout {
  double left = 0, right = 1, bottom = 0, top = 1;  // the plot area
  AxisRange y;                                      // grouped bars: the value axis
  ValueLabels value_labels = ValueLabels::kNone;
  bool rotate_categories = false;  // tilted when the names do not fit side by side
};

struct LegendEntry {
  enum class Style { kBar, kLine, kReference };
  std::string name, color;
  Style style = Style::kBar;
  double x = 0, y = 0;  // the left end of its sample, and the middle of its row
};

struct ChartLayout {
  int width = 0, height = 0;  // pixels
  double title_y = 0, subtitle_y = 0;
  double legend_top = 0;    // the legend's rows lie below this
  double sample_width = 0;  // of a legend sample; its label starts after it and a gap
  double label_gap = 0;
  std::vector<LegendEntry> legend;                   // in reading order, placed in centered rows
  std::map<std::string, std::string> series_colors;  // by series name
  std::vector<PanelLayout> panels;
};

// The color of each series name, the same in every panel: the series' own when it has one,
// else the next of a colorblind-safe palette.
std::map<std::string, std::string> series_colors(const Chart& chart);
// One entry per named series, then one per reference line label.
std::vector<LegendEntry> legend_entries(const Chart& chart);

ChartLayout layout_chart(const Chart& chart);

// The label drawn on a bar of value v.
std::string value_label(double v, int decimals);

}  // namespace aded::report
