#include "commands.h"
namespace aded::cli {
Command add_bench(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "(not built yet)");
  return {cmd, [] { return 1; }};
}
}  // namespace aded::cli
