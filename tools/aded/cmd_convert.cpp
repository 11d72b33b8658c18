#include <chrono>
#include <memory>

#include "aded/convert.h"
#include "aded/error.h"
#include "aded/gguf.h"
#include "commands.h"

namespace aded::cli {

Command add_convert(CLI::App& app) {
  struct Options {
    std::string llama2c, tokenizer, output;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("convert", "Convert a model to GGUF (llama2.c legacy checkpoints)");
  cmd->add_option("--llama2c", o->llama2c, "llama2.c legacy checkpoint (.bin)")->required();
  cmd->add_option("--tokenizer", o->tokenizer, "llama2.c tokenizer.bin of that model")->required();
  cmd->add_option("-o,--output", o->output, "GGUF file to write")->required();
  return {cmd, [o] {
    const auto start = std::chrono::steady_clock::now();
    const uint64_t written = convert_llama2c(o->llama2c, o->tokenizer, o->output);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    fmt::print(stderr, "wrote {} ({:.1f} MB) in {:.2f} s\n", o->output, static_cast<double>(written) / 1e6, s);
    return 0;
  }};
}

}  // namespace aded::cli
