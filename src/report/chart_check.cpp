#include "report/chart_check.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "aded/error.h"

namespace aded::report {

namespace {

bool is_color(const std::string& c) {
  return c.size() == 7 && c[0] == '#' && std::all_of(c.begin() + 1, c.end(), [](char h) {
           return std::isxdigit(static_cast<unsigned char>(h));
         });
}

void check_panel(const Panel& p, size_t index) {
  const std::string where =
      p.title.empty() ? fmt::format("panel {}", index + 1) : fmt::format("panel '{}'", p.title);
  if (p.series.empty()) throw Error(fmt::format("chart {}: no series to draw", where));
  if (p.kind == PanelKind::kGroupedBars && p.categories.empty())
    throw Error(fmt::format("chart {}: grouped bars need categories", where));
  for (const auto& s : p.series) {
    if (!s.color.empty() && !is_color(s.color))
      throw Error(fmt::format("chart {}: series '{}' has color '{}' (expected #rrggbb)", where,
                              s.name, s.color));
    if (p.kind == PanelKind::kGroupedBars && s.y.size() != p.categories.size())
      throw Error(fmt::format("chart {}: series '{}' has {} values for {} categories", where,
                              s.name, s.y.size(), p.categories.size()));
    if (p.kind == PanelKind::kLines && (s.x.size() != s.y.size() || s.y.empty()))
      throw Error(fmt::format("chart {}: series '{}' has {} x and {} y values", where, s.name,
                              s.x.size(), s.y.size()));
  }
  for (const auto& r : p.references)
    if (!std::isfinite(r.y))
      throw Error(fmt::format("chart {}: reference line '{}' is not finite", where, r.label));
}

}  // namespace

void check_chart(const Chart& chart) {
  if (chart.panels.empty()) throw Error("chart has no panels");
  const auto bad_size = [](int pixels) { return pixels != 0 && (pixels < 100 || pixels > 10000); };
  if (bad_size(chart.width) || bad_size(chart.height))
    throw Error(fmt::format("chart size {}x{} is out of range (100 to 10000 pixels, or 0)",
                            chart.width, chart.height));
  for (size_t i = 0; i < chart.panels.size(); ++i) check_panel(chart.panels[i], i);
}

}  // namespace aded::report
