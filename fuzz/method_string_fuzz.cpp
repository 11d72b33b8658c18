// libFuzzer target: drafting-method strings and setting flags (`--spec aded:paper:top-k=4`,
// `--methods ...`, `--draft-max 8`), what users type. The first line is the method string, each
// further line a flag "key=value". Any input must be refused with aded::InputError or give a
// choice whose every setting is inside its declared range, and whose drafter can be built.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "aded/drafter_registry.h"
#include "aded/error.h"
#include "aded/model_drafters.h"

namespace {

void check(bool ok, const char* invariant) {
  if (ok) return;
  std::fprintf(stderr, "method_string_fuzz: invariant violated: %s\n", invariant);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const aded::DrafterRegistry registry = aded::DrafterRegistry::with_builtin_methods();
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> lines;
  for (size_t at = 0; at <= input.size();) {
    const size_t end = std::min(input.find('\n', at), input.size());
    lines.push_back(input.substr(at, end - at));
    at = end + 1;
  }
  std::vector<aded::SettingValue> flags;
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t eq = lines[i].find('=');
    flags.push_back({lines[i].substr(0, eq), eq == std::string::npos ? "" : lines[i].substr(eq + 1), "--flag"});
  }
  aded::MethodChoice choice;
  try {
    choice = registry.parse(lines[0], flags);
  } catch (const aded::InputError&) {
    return 0;
  }
  check(choice.limits.max_nodes >= 0 && choice.limits.max_nodes <= 256, "max in range");
  check(choice.limits.max_depth >= 1 && choice.limits.max_depth <= 64, "depth in range");
  for (const aded::SettingSpec& s : registry.all_settings()) {
    if (s.kind != aded::SettingSpec::Kind::Integer) continue;
    try {
      const int v = choice.settings.integer(s.key);
      check(v >= s.min && v <= s.max, "integer setting in range");
    } catch (const aded::InputError&) {
      check(false, "a declared setting's value does not read back");
    } catch (const aded::Error&) {
      // a setting of another method
    }
  }
  // Skip sets (self, draft): parsed for a 6-layer model; an accepted one has one choice per layer.
  std::string skip;
  try {
    skip = choice.settings.text("skip");
  } catch (const aded::Error&) {
    // a method without skip sets
  }
  if (!skip.empty() && skip.front() != '@' && skip != "online") {
    try {
      const aded::LayerPlan plan = aded::parse_skip_plan(skip, 6);
      check(plan.attention.size() == plan.mlp.size() && (plan.attention.empty() || plan.attention.size() == 6),
            "a skip set has one choice per layer");
      check(aded::parse_skip_plan(aded::format_skip_plan(plan), 6).attention == plan.attention,
            "a skip set reads back as it is written");
    } catch (const aded::InputError&) {
    }
  }
  // Build the drafter unless it would open a file the input names.
  if (choice.plain() || choice.settings.given("ngram") || choice.settings.given("policy")) return 0;
  for (const aded::MethodChoice& member : choice.members)  // the members of a union, select or auto
    if (member.settings.given("ngram")) return 0;
  aded::DrafterEnvironment env;
  env.reference = std::make_shared<std::vector<int32_t>>(std::vector<int32_t>{1, 2, 3});
  try {
    const auto speculator = registry.make_speculator(choice, env);
    const bool arms_per_member = choice.method == "select" || choice.method == "auto";
    const int arms = arms_per_member ? static_cast<int>(choice.members.size()) : 1;
    check(speculator != nullptr && speculator->arms() == arms, "one arm per method, one per member of a select or auto");
  } catch (const aded::InputError&) {
    // combinations refused by the method (e.g. ngram-min above ngram-max)
  }
  return 0;
}
