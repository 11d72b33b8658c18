#include "bench_spec_plot.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>

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
  chart.subtitle = fmt::format(
      "model {} | {} prompts from {} | {} new tokens each | {} thread{} | greedy", run.model_path,
      run.prompts, std::filesystem::path(run.prompts_path).filename().string(), run.new_tokens,
      run.threads, run.threads == 1 ? "" : "s");
  chart.panels = {std::move(speedup), std::move(per_forward)};
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
