#include "commands.h"
namespace aded::cli {
Command add_info(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "(not built yet)");
  return {cmd, [] { return 1; }};
}
}  // namespace aded::cli
