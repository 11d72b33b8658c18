// Skip sets as users write them (a0,m3 / every-other / @FILE) and as tune-skip saves them.
#include <algorithm>
#include <string>

#include "aded/error.h"
#include "aded/mapped_file.h"
#include "aded/model_drafters.h"

namespace aded {

LayerPlan parse_skip_plan(std::string_view spec, int n_layers) {
  LayerPlan plan;
  if (spec.empty() || spec == "none") return plan;
  plan.attention.assign(static_cast<size_t>(n_layers), 1);
  plan.mlp.assign(static_cast<size_t>(n_layers), 1);
  if (spec == "every-other") {
    for (int l = 1; l < n_layers; l += 2)
      plan.attention[static_cast<size_t>(l)] = plan.mlp[static_cast<size_t>(l)] = 0;
    return plan;
  }
  size_t at = 0;
  while (at <= spec.size()) {
    // '+' separates items too: bench-spec --methods is itself a comma-separated list.
    const size_t comma = std::min(spec.find_first_of(",+", at), spec.size());
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
      fail("skip set '{}': '{}' should be a<layer> or m<layer> with a layer from 0 to {}", spec,
           item, n_layers - 1);
    (item[0] == 'a' ? plan.attention : plan.mlp)[static_cast<size_t>(layer)] = 0;
  }
  return plan;
}

std::string format_skip_plan(const LayerPlan& plan) {
  std::string out;
  const auto add = [&out](char kind, size_t layer) {
    if (!out.empty()) out += ',';
    out += kind;
    out += std::to_string(layer);
  };
  for (size_t l = 0; l < plan.attention.size(); ++l)
    if (!plan.attention[l]) add('a', l);
  for (size_t l = 0; l < plan.mlp.size(); ++l)
    if (!plan.mlp[l]) add('m', l);
  return out.empty() ? "none" : out;
}

LayerPlan read_skip_plan(std::string_view spec, int n_layers) {
  if (!spec.starts_with('@')) return parse_skip_plan(spec, n_layers);
  const std::string path(spec.substr(1));
  if (path.empty()) fail("skip set '@': give a file after the @ (a skip file of aded tune-skip)");
  const auto file = MappedFile::open(path);  // refuses folders, pipes and devices before reading
  constexpr size_t kLargest = 1 << 20;
  if (file->bytes().size() > kLargest)
    fail("{}: not a skip file ({} bytes; a skip file is one line of a<layer>,m<layer> items)", path,
         file->bytes().size());
  const std::string_view text(reinterpret_cast<const char*>(file->bytes().data()),
                              file->bytes().size());
  size_t at = 0;
  while (at < text.size()) {
    size_t end = std::min(text.find('\n', at), text.size());
    std::string_view line = text.substr(at, end - at);
    at = end + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    try {
      return parse_skip_plan(line, n_layers);
    } catch (const InputError& e) {
      fail("{}: {}", path, e.what());
    }
  }
  fail("{}: no skip set in the file (expected a line such as a1,m1,a3 or none)", path);
}

}  // namespace aded
