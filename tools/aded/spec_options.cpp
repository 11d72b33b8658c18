#include "spec_options.h"

#include <fmt/format.h>

namespace aded::cli {

const DrafterRegistry& drafter_registry() {
  static const DrafterRegistry registry = DrafterRegistry::with_builtin_methods();
  return registry;
}

void add_spec_options(CLI::App& cmd, SpecFlags& f, bool method_flag) {
  const DrafterRegistry& registry = drafter_registry();
  std::string methods;
  for (const auto& n : registry.method_names()) methods += (methods.empty() ? "" : ", ") + n;
  if (method_flag)
    cmd.add_option("--spec", f.method,
                 fmt::format("speculative decoding method: {}, with optional settings (e.g. aded:search=mcts, "
                             "aded:paper; listed below)",
                             methods))
      ->capture_default_str();
  cmd.footer("\nSpeculative decoding. " + registry.describe());
  for (const SettingSpec& s : registry.all_settings()) {
    if (!s.option.empty()) {
      const std::string key = s.key, origin = s.option;
      cmd.add_option_function<std::string>(
             s.option, [&f, key, origin](const std::string& v) { f.settings.push_back({key, v, origin}); },
             fmt::format("{} ({}; the setting {}=)", s.help, s.range(), s.key))
          ->type_name(s.kind == SettingSpec::Kind::Text ? "PATH" : "VALUE");
    }
    if (!s.flag.empty()) {
      const std::string key = s.key, value = s.flag_value, origin = s.flag;
      cmd.add_flag_callback(s.flag, [&f, key, value, origin] { f.settings.push_back({key, value, origin}); },
                            fmt::format("the setting {}={} ({})", s.key, s.flag_value, s.help));
    }
  }
}

}  // namespace aded::cli
