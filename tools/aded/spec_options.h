// Flags that choose and configure speculative decoding (--spec ... and one flag per method setting
// that has a command-line form), shared by run and bench-spec. The values are not checked here:
// they go to the drafter registry, which checks every setting in one place.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "aded/drafter_registry.h"

namespace aded::cli {

struct SpecFlags {
  std::string method = "none";
  std::vector<SettingValue> settings;  // the setting flags given, in order
};

// The methods the CLI knows (the built-in ones).
const DrafterRegistry& drafter_registry();

// method_flag: also --spec (bench-spec names its methods with --methods instead).
void add_spec_options(CLI::App& cmd, SpecFlags& f, bool method_flag = true);

}  // namespace aded::cli
