#include <chrono>
#include <memory>

#include "aded/error.h"
#include "aded/gguf.h"
#include "aded/model_tools.h"
#include "commands.h"
#include "progress_line.h"

namespace aded::cli {

Command add_repack(CLI::App& app) {
  struct Options {
    std::string input, output;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "repack",
      "Write a model with its weight matrices already in the layout aded's kernels read, so that it "
      "starts without packing a copy (the file is aded's own: llama.cpp does not read it)");
  cmd->add_option("input", o->input, "input GGUF model")->required();
  cmd->add_option("output", o->output, "output GGUF model (aded only)")->required();
  return {cmd, [o] {
    ProgressLine progress;
    const auto start = std::chrono::steady_clock::now();
    const RepackReport report = repack_model(o->input, o->output, [&progress](const std::string& name, size_t index, size_t total) {
      progress.update(fmt::format("{} {}/{} {}", ProgressLine::bar(index + 1, total), index + 1, total, name), index + 1 == total);
    });
    progress.finish();
    fmt::print(stderr, "{}\n", report.summary());
    fmt::print(stderr, "wrote {}: {:.1f} MB in {:.1f} s\n", o->output, static_cast<double>(report.bytes_written) / 1e6,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return 0;
  }};
}

}  // namespace aded::cli
