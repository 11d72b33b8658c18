#include "commands.h"
namespace aded::cli {
Command add_quantize(CLI::App& app) {
  auto* cmd = app.add_subcommand("quantize", "(not built yet)");
  return {cmd, [] { return 1; }};
}
}  // namespace aded::cli
