#include <string>

#include "aded/error.h"
#include "aded/model_drafters.h"

namespace aded {

void DraftExit::update(int drafted, int accepted, bool full) {
  if (!o_.adaptive || drafted <= 0) return;
  rate_ = o_.rate_smoothing * rate_ + (1 - o_.rate_smoothing) * static_cast<float>(accepted) / static_cast<float>(drafted);
  float moved = threshold_;
  if (rate_ < o_.target_rate)
    moved = threshold_ + o_.step;
  else if (!full)
    moved = threshold_ - o_.step;
  threshold_ = o_.threshold_smoothing * threshold_ + (1 - o_.threshold_smoothing) * moved;
}

LayerPlan parse_skip_plan(std::string_view spec, int n_layers) {
  LayerPlan plan;
  if (spec.empty() || spec == "none") return plan;
  plan.attention.assign(static_cast<size_t>(n_layers), 1);
  plan.mlp.assign(static_cast<size_t>(n_layers), 1);
  if (spec == "every-other") {
    for (int l = 1; l < n_layers; l += 2) plan.attention[static_cast<size_t>(l)] = plan.mlp[static_cast<size_t>(l)] = 0;
    return plan;
  }
  size_t at = 0;
  while (at <= spec.size()) {
    const size_t comma = std::min(spec.find(',', at), spec.size());
    const std::string item(spec.substr(at, comma - at));
    at = comma + 1;
    int layer = -1;
    size_t used = 0;
    if (item.size() >= 2 && (item[0] == 'a' || item[0] == 'm')) {
      try {
        layer = std::stoi(item.substr(1), &used);
      } catch (const std::exception&) {
        layer = -1;
      }
    }
    if (layer < 0 || layer >= n_layers || used != item.size() - 1)
      fail("skip set '{}': '{}' should be a<layer> or m<layer> with a layer from 0 to {}", spec, item, n_layers - 1);
    (item[0] == 'a' ? plan.attention : plan.mlp)[static_cast<size_t>(layer)] = 0;
  }
  return plan;
}

}  // namespace aded
