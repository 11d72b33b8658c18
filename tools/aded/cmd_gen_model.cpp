#include "commands.h"
namespace aded::cli {
Command add_gen_model(CLI::App& app) {
  auto* cmd = app.add_subcommand("gen-model", "(not built yet)");
  return {cmd, [] { return 1; }};
}
}  // namespace aded::cli
