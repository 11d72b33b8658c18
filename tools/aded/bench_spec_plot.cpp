#include "bench_spec_plot.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>

#include "aded/error.h"

namespace aded::cli {

namespace {

// Plain decoding is the reference line of both panels (1.0x its speed, one token per forward),
// so it needs no bars of its own.
constexpr const char* kPlainDecoding = "plain decoding (= 1.0)";
constexpr const char* kPlainColor = "#9E9E9E";

std::vector<std::string> categories(const SpecBenchResult& r) {
  std::vector<std::string> names;
  for (const auto& [category, by_method] : r.by_category) names.push_back(category);
  if (r.by_category.size() > 1) names.push_back("overall");
  return names;
}

const std::map<std::string, MethodTotals>& totals(const SpecBenchResult& r,
                                                  const std::string& category) {
  return category == "overall" && r.by_category.size() > 1 ? r.overall : r.by_category.at(category);
}

Panel bar_panel(std::string title, std::string y_label, const std::vector<std::string>& groups) {
  Panel p;
  p.title = std::move(title);
  p.x_label = "prompt category";
  p.y_label = std::move(y_label);
  p.categories = groups;
  p.references.push_back({1.0, kPlainDecoding});
  return p;
}

std::string subtitle(const SpecBenchRunInfo& run) {
  return fmt::format("model {} | {} prompts from {} | {} new tokens each | {} thread{} | {}", run.model_path,
                     run.prompts, std::filesystem::path(run.prompts_path).filename().string(), run.new_tokens,
                     run.threads, run.threads == 1 ? "" : "s",
                     run.temperature > 0 ? fmt::format("temperature {:g}", run.temperature) : std::string("greedy"));
}

}  // namespace

Chart spec_bench_chart(const SpecBenchResult& r, const SpecBenchRunInfo& run) {
  const std::vector<std::string> groups = categories(r);
  Panel speedup = bar_panel("Speedup over plain decoding", "speedup (x)", groups);
  Panel per_forward = bar_panel("Tokens per target forward", "tokens per forward", groups);
  const std::string& plain = r.methods.at(0);
  for (const auto& method : r.methods) {
    if (method == plain && r.methods.size() > 1) continue;
    Series s;
    s.name = method;
    if (method == plain) s.color = kPlainColor;
    Series t = s;
    for (const auto& group : groups) {
      const auto& by_method = totals(r, group);
      const double plain_rate = by_method.at(plain).tokens_per_second();
      s.y.push_back(plain_rate > 0 ? by_method.at(method).tokens_per_second() / plain_rate : NAN);
      t.y.push_back(by_method.at(method).tokens_per_step());
    }
    speedup.series.push_back(std::move(s));
    per_forward.series.push_back(std::move(t));
  }
  Chart chart;
  chart.title =
      "Speculative decoding: " + std::filesystem::path(run.model_path).filename().string();
  chart.subtitle = subtitle(run);
  chart.panels = {std::move(speedup), std::move(per_forward)};
  return chart;
}

Chart regret_chart(const SpecBenchResult& r, const SpecBenchRunInfo& run) {
  std::vector<std::string> single, choosing;
  for (const auto& m : r.methods) {
    const std::string method = m.substr(0, m.find(':'));
    if (method == "select" || method == "auto" || method == "union")
      choosing.push_back(m);
    else if (method != "oracle")
      single.push_back(m);
  }
  if (single.size() < 2 || choosing.empty())
    fail("--regret-plot needs a single method besides none and a select, auto or union in --methods");
  const auto best_of = [&](const std::map<std::string, MethodTotals>& by_method) {
    std::string best = single[0];
    for (const auto& m : single)
      if (by_method.at(m).tokens_per_second() > by_method.at(best).tokens_per_second()) best = m;
    return best;
  };
  std::map<std::string, std::string> best_in;  // category -> its best single method
  for (const auto& [category, by_method] : r.by_category) best_in[category] = best_of(by_method);
  std::vector<std::string> drawn = choosing;
  const std::string best_overall = best_of(r.overall);
  drawn.push_back(best_overall);
  Panel seconds, share;
  seconds.kind = share.kind = PanelKind::kLines;
  seconds.title = "Time lost against each category's best single drafter";
  seconds.y_label = "cumulative seconds lost";
  share.title = "... as a share of the best drafters' time";
  share.y_label = "cumulative time lost (%)";
  seconds.x_label = share.x_label = "requests (prompts in run order)";
  seconds.references.push_back({0.0, "each category's best single drafter (= 0)"});
  share.references = seconds.references;
  for (const auto& m : drawn) {
    Series lost, percent;
    lost.name = m == best_overall ? m + " (best single overall)" : m;
    percent.name = lost.name;
    double total_lost = 0, total_best = 0;
    for (size_t i = 0; i < r.prompts.size(); ++i) {
      const PromptResult& p = r.prompts[i];
      const double best = p.methods.at(best_in.at(p.category)).seconds;
      total_lost += p.methods.at(m).seconds - best;
      total_best += best;
      lost.x.push_back(static_cast<double>(i + 1));
      lost.y.push_back(total_lost);
      percent.x.push_back(static_cast<double>(i + 1));
      percent.y.push_back(total_best > 0 ? 100.0 * total_lost / total_best : 0.0);
    }
    seconds.series.push_back(std::move(lost));
    share.series.push_back(std::move(percent));
  }
  std::string bests;
  for (const auto& [category, m] : best_in) bests += fmt::format("{}{}: {}", bests.empty() ? "" : ", ", category, m);
  Chart chart;
  chart.title = "Regret of drafter selection (best single drafter per category: " + bests + ")";
  chart.subtitle = subtitle(run);
  chart.panels = {std::move(seconds), std::move(share)};
  return chart;
}

CLI::Validator image_file_name() {
  return CLI::Validator(
      [](std::string& path) -> std::string {
        if (image_format_for(path)) return {};
        return fmt::format("'{}' is not a supported image file name (use one of {})", path,
                           accepted_image_extensions());
      },
      "FILE.svg|FILE.png");
}

}  // namespace aded::cli
