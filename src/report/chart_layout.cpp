#include "report/chart_layout.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <numeric>
#include <string_view>

namespace aded::report {

namespace {

// Okabe and Ito's palette: told apart by colorblind readers and in grayscale print.
constexpr const char* kPalette[] = {"#0072B2", "#D55E00", "#009E73", "#E69F00",
                                    "#CC79A7", "#56B4E9", "#882255", "#44AA99"};
constexpr const char* kReferenceColor = "#444444";

// Pixels.
constexpr double kPad = 12;             // empty border around the image
constexpr double kLegendSample = 25;    // a legend entry's color sample
constexpr double kLegendLabelGap = 6;   // between a sample and its name
constexpr double kLegendEntryGap = 26;  // between one entry's name and the next sample
constexpr double kValueLabelGap = 6;    // between a bar's top and its label
constexpr double kMinPanelWidth = 400;
constexpr double kLinePanelWidth = 460;
constexpr double kMaxAutoWidth = 1600;  // of the panels, when the chart does not set its width

double line_height(double font) {
  return font * kPixelsPerPoint * 1.4;
}

// The smallest and largest finite values of a panel (its reference lines included).
std::pair<double, double> value_extent(const Panel& p) {
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& s : p.series)
    for (double v : s.y)
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  for (const auto& r : p.references) lo = std::min(lo, r.y), hi = std::max(hi, r.y);
  if (lo > hi) return {0, 1};
  return {lo, hi};
}

double natural_width(const Panel& p) {
  if (p.kind == PanelKind::kLines) return kLinePanelWidth;
  const double groups = static_cast<double>(p.categories.size());
  const double bars = static_cast<double>(std::max<size_t>(p.series.size(), 1));
  return std::max(kMinPanelWidth, 96 + groups * (bars * 28 + 30));
}

std::string widest_value_label(const Panel& p) {
  std::string widest;
  for (const auto& s : p.series)
    for (double v : s.y)
      if (std::isfinite(v) && value_label(v, p.value_decimals).size() > widest.size())
        widest = value_label(v, p.value_decimals);
  return widest;
}

// Room left of the plot area: the axis label, then the tick labels.
double left_margin(const Panel& p) {
  const auto [lo, hi] = value_extent(p);
  double ticks = 0;
  if (p.kind == PanelKind::kGroupedBars) {
    const AxisRange guess = round_axis_range(std::min(lo, 0.0), hi * 1.2);
    const int decimals = tick_decimals(guess);
    for (double v : {guess.low, guess.high})
      ticks = std::max(ticks, text_width(fmt::format("{:.{}f}", v, decimals), kTextFont));
  } else {
    for (double v : {lo, hi})
      ticks = std::max(ticks, text_width(fmt::format("{:g}", v), kTextFont));
  }
  return 12 + ticks + (p.y_label.empty() ? 6 : line_height(kTextFont) + 6);
}

ValueLabels value_label_mode(const Panel& p, double plot_width) {
  if (!p.value_labels || p.kind != PanelKind::kGroupedBars) return ValueLabels::kNone;
  const double pitch = plot_width / static_cast<double>(p.categories.size()) * kGroupWidth /
                       static_cast<double>(p.series.size());
  const double label = text_width(widest_value_label(p), kValueFont);
  if (label + 3 <= pitch) return ValueLabels::kHorizontal;
  if (line_height(kValueFont) <= pitch) return ValueLabels::kVertical;
  return ValueLabels::kNone;
}

// Grouped bars start at zero; the range leaves `headroom` pixels above the tallest bar.
AxisRange bar_axis(const Panel& p, double plot_height, double headroom) {
  auto [lo, hi] = value_extent(p);
  lo = std::min(lo, 0.0);
  hi = std::max(hi, 0.0);
  const double room = std::min(headroom / plot_height, 0.5);
  return round_axis_range(lo, lo + (hi - lo) / (1 - room));
}

double legend_entry_width(const LegendEntry& e) {
  return kLegendSample + kLegendLabelGap + text_width(e.name, kTextFont);
}

// Fills rows left to right, each row centered, the last row `bottom` pixels above the image's
// lower edge; returns the number of rows.
int place_legend(std::vector<LegendEntry>& legend, double width, double height, double bottom,
                 double row_height) {
  std::vector<std::vector<LegendEntry*>> rows(1);
  double used = 0;
  for (auto& e : legend) {
    if (!rows.back().empty() && used + kLegendEntryGap + legend_entry_width(e) > width - 2 * kPad) {
      rows.emplace_back();
      used = 0;
    }
    used += (rows.back().empty() ? 0 : kLegendEntryGap) + legend_entry_width(e);
    rows.back().push_back(&e);
  }
  if (legend.empty()) return 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    double row_width = -kLegendEntryGap;
    for (const LegendEntry* e : rows[r]) row_width += legend_entry_width(*e) + kLegendEntryGap;
    double x = (width - row_width) / 2;
    const double y = bottom + (static_cast<double>(rows.size() - r) - 0.5) * row_height;
    for (LegendEntry* e : rows[r]) {
      e->x = x / width;
      e->y = y / height;
      x += legend_entry_width(*e) + kLegendEntryGap;
    }
  }
  return static_cast<int>(rows.size());
}

}  // namespace

double text_width(const std::string& text, double font) {
  // Average advance widths of DejaVu Sans in em, by kind of character; a little generous.
  constexpr std::string_view narrow = "ijlt.,:;'!|()[]{} ", wide = "mwMW%@";
  double ems = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if ((c & 0xC0) == 0x80) continue;  // a UTF-8 continuation byte
    if (narrow.find(static_cast<char>(c)) != std::string_view::npos)
      ems += 0.34;
    else if (wide.find(static_cast<char>(c)) != std::string_view::npos)
      ems += 0.92;
    else if (std::isupper(c) || std::isdigit(c) || c >= 0x80)
      ems += 0.68;
    else
      ems += 0.58;
  }
  return ems * font * kPixelsPerPoint;
}

std::string value_label(double v, int decimals) {
  return fmt::format("{:.{}f}", v, std::clamp(decimals, 0, 6));
}

std::map<std::string, std::string> series_colors(const Chart& chart) {
  std::map<std::string, std::string> colors;
  size_t next = 0;
  for (const auto& panel : chart.panels)
    for (const auto& s : panel.series)
      if (!colors.contains(s.name))
        colors[s.name] = s.color.empty() ? kPalette[next++ % std::size(kPalette)] : s.color;
  return colors;
}

std::vector<LegendEntry> legend_entries(const Chart& chart) {
  const auto colors = series_colors(chart);
  std::vector<LegendEntry> legend;
  const auto listed = [&](const std::string& name, bool reference) {
    return std::any_of(legend.begin(), legend.end(), [&](const LegendEntry& e) {
      return e.name == name && (e.style == LegendEntry::Style::kReference) == reference;
    });
  };
  for (const auto& panel : chart.panels)
    for (const auto& s : panel.series)
      if (!s.name.empty() && !listed(s.name, false))
        legend.push_back({s.name, colors.at(s.name),
                          panel.kind == PanelKind::kLines ? LegendEntry::Style::kLine
                                                          : LegendEntry::Style::kBar});
  for (const auto& panel : chart.panels)
    for (const auto& r : panel.references)
      if (!r.label.empty() && !listed(r.label, true))
        legend.push_back({r.label, kReferenceColor, LegendEntry::Style::kReference});
  return legend;
}

ChartLayout layout_chart(const Chart& chart) {
  ChartLayout layout;
  layout.series_colors = series_colors(chart);
  layout.legend = legend_entries(chart);
  std::vector<double> natural;
  for (const auto& p : chart.panels) natural.push_back(natural_width(p));
  const double natural_total = std::accumulate(natural.begin(), natural.end(), 0.0);
  // Wide enough for the panels and for the title lines, which are never cut.
  const double title_lines =
      std::max(text_width(chart.title, kTitleFont), text_width(chart.subtitle, kTextFont));
  // Many categories make narrower bars rather than an image no page can hold.
  const double content = std::min(natural_total, kMaxAutoWidth);
  layout.width = chart.width > 0
                     ? chart.width
                     : static_cast<int>(std::ceil(std::max(content, title_lines + 20) + 2 * kPad));
  layout.height = chart.height > 0 ? chart.height : 500;
  const double W = layout.width, H = layout.height;
  layout.sample_width = kLegendSample / W;
  layout.label_gap = kLegendLabelGap / W;

  // Horizontal: each panel gets a share of the width in proportion to its contents.
  std::vector<double> plot_widths;
  double x = kPad;
  for (size_t i = 0; i < chart.panels.size(); ++i) {
    const double region = natural[i] / natural_total * (W - 2 * kPad);
    PanelLayout pl;
    pl.left = (x + left_margin(chart.panels[i])) / W;
    pl.right = (x + region - 18) / W;
    x += region;
    plot_widths.push_back((pl.right - pl.left) * W);
    layout.panels.push_back(pl);
  }

  // Category names tilt when two neighbours, centered under their groups, would touch.
  double category_height = line_height(kTextFont);
  for (size_t i = 0; i < chart.panels.size(); ++i) {
    const Panel& p = chart.panels[i];
    if (p.kind != PanelKind::kGroupedBars) continue;
    const double group = plot_widths[i] / static_cast<double>(p.categories.size());
    double longest = 0;
    bool crowded = false;
    for (size_t c = 0; c < p.categories.size(); ++c) {
      const double w = text_width(p.categories[c], kTextFont);
      longest = std::max(longest, w);
      if (c > 0 && (w + text_width(p.categories[c - 1], kTextFont)) / 2 + 10 > group)
        crowded = true;
    }
    if (crowded) {
      layout.panels[i].rotate_categories = true;
      category_height = std::max(category_height, longest * 0.5 + line_height(kTextFont));
    }
  }

  // Vertical, from the top: title, subtitle, panel titles.
  double top = kPad;
  if (!chart.title.empty()) {
    layout.title_y = 1 - (top + line_height(kTitleFont) / 2) / H;
    top += line_height(kTitleFont);
  }
  if (!chart.subtitle.empty()) {
    layout.subtitle_y = 1 - (top + line_height(kTextFont) / 2) / H;
    top += line_height(kTextFont);
  }
  const bool panel_titles = std::any_of(chart.panels.begin(), chart.panels.end(),
                                        [](const Panel& p) { return !p.title.empty(); });
  top += 10 + (panel_titles ? line_height(kPanelTitleFont) + 6 : 0);

  // From the bottom: legend rows, then axis labels and category names.
  const double row_height = line_height(kTextFont) + 4;
  const int rows = place_legend(layout.legend, W, H, kPad / 2, row_height);
  double bottom = kPad / 2 + rows * row_height;
  layout.legend_top = bottom / H;
  const bool x_labels = std::any_of(chart.panels.begin(), chart.panels.end(),
                                    [](const Panel& p) { return !p.x_label.empty(); });
  bottom += 10 + (x_labels ? line_height(kTextFont) : 0) + category_height + 4;

  const double plot_height = H - top - bottom;
  for (size_t i = 0; i < chart.panels.size(); ++i) {
    PanelLayout& pl = layout.panels[i];
    const Panel& p = chart.panels[i];
    pl.top = 1 - top / H;
    pl.bottom = bottom / H;
    pl.value_labels = value_label_mode(p, plot_widths[i]);
    if (p.kind != PanelKind::kGroupedBars) continue;
    const double label_room = pl.value_labels == ValueLabels::kHorizontal ? line_height(kValueFont)
                              : pl.value_labels == ValueLabels::kVertical
                                  ? text_width(widest_value_label(p), kValueFont)
                                  : 0;
    pl.y = bar_axis(p, plot_height, label_room + kValueLabelGap);
  }
  return layout;
}

}  // namespace aded::report
