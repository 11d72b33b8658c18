// Charts the report tests draw: one shaped like bench-spec's (3 methods x 4 categories and
// "overall", two panels, a reference line) and one of lines (two panels of x/y series).
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "aded/plot.h"

namespace aded::testing {

inline Panel panel(PanelKind kind, std::string title, std::string x_label, std::string y_label) {
  Panel p;
  p.kind = kind;
  p.title = std::move(title);
  p.x_label = std::move(x_label);
  p.y_label = std::move(y_label);
  return p;
}

inline Series series(std::string name, std::vector<double> y, std::vector<double> x = {}) {
  Series s;
  s.name = std::move(name);
  s.x = std::move(x);
  s.y = std::move(y);
  return s;
}

inline Chart chart(std::string title, std::string subtitle, std::vector<Panel> panels) {
  Chart c;
  c.title = std::move(title);
  c.subtitle = std::move(subtitle);
  c.panels = std::move(panels);
  return c;
}

inline Chart bench_like_chart() {
  Panel speedup = panel(PanelKind::kGroupedBars, "Speedup over plain decoding", "prompt category",
                        "speedup (x)");
  Panel forward = panel(PanelKind::kGroupedBars, "Tokens per target forward", "prompt category",
                        "tokens per forward");
  speedup.categories =
      forward.categories = {"mt_bench", "translation", "summarization", "qa", "overall"};
  speedup.references.push_back({1.0, "1.0x = plain decoding"});
  speedup.series = {series("pld", {1.12, 0.97, 1.31, 1.05, 1.11}),
                    series("aded", {1.42, 1.08, 1.74, 1.21, 1.36}),
                    series("oracle:max=4", {2.61, 2.55, 2.72, 2.49, 2.59})};
  forward.series = {series("pld", {1.38, 1.10, 1.72, 1.25, 1.36}),
                    series("aded", {1.91, 1.33, 2.32, 1.55, 1.78}),
                    series("oracle:max=4", {4.70, 4.66, 4.81, 4.52, 4.67})};
  return chart("Speculative decoding: code15M",
               "model code15M.gguf | 24 prompts | 64 new tokens each | 1 thread | greedy",
               {speedup, forward});
}

inline Chart line_chart() {
  Panel regret = panel(PanelKind::kLines, "Cumulative regret", "step", "regret (tokens)");
  Panel depth = panel(PanelKind::kLines, "Acceptance by depth", "draft depth", "acceptance rate");
  const std::vector<std::string> names = {"ucb", "thompson", "fixed"};
  for (size_t s = 0; s < names.size(); ++s) {
    std::vector<double> steps, regrets, depths, rates;
    for (int i = 1; i <= 200; ++i) {
      steps.push_back(i);
      regrets.push_back((static_cast<double>(s) + 0.5) * std::sqrt(i));
    }
    for (int i = 1; i <= 8; ++i) {
      depths.push_back(i);
      rates.push_back(std::pow(0.85 - 0.1 * static_cast<double>(s), i));
    }
    regret.series.push_back(series(names[s], regrets, steps));
    depth.series.push_back(series(names[s], rates, depths));
  }
  return chart("Choosing a drafter online", "synthetic curves", {regret, depth});
}

}  // namespace aded::testing
