#include <chrono>
#include <memory>

#include "aded/error.h"
#include "aded/gguf.h"
#include "aded/model_tools.h"
#include "commands.h"
#include "progress_line.h"

namespace aded::cli {

Command add_quantize(CLI::App& app) {
  struct Options {
    std::string input, output, type;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("quantize", "Convert the weight matrices of a GGUF model to another type");
  cmd->add_option("input", o->input, "input GGUF model")->required();
  cmd->add_option("output", o->output, "output GGUF model")->required();
  cmd->add_option("type", o->type, "Q8_0, Q4_0 (also F32, F16, BF16, Q5_0, Q4_K, Q5_K, Q6_K)")->required();
  return {cmd, [o] {
    auto type = parse_tensor_type(o->type);
    if (!type) fail("unknown tensor type '{}' (use Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K, F16, BF16 or F32)", o->type);
    QuantizeOptions q;
    q.type = *type;
    ProgressLine progress;
    q.progress = [&progress](const std::string& name, size_t index, size_t total) {
      progress.update(fmt::format("{} {}/{} {}", ProgressLine::bar(index + 1, total), index + 1, total, name), index + 1 == total);
    };
    const auto start = std::chrono::steady_clock::now();
    const QuantizeReport report = quantize_model(o->input, o->output, q);
    fmt::print(stderr, "{}\n", report.summary(q.type));
    const auto in = GgufFile::open(o->input);
    fmt::print(stderr, "wrote {}: {:.1f} MB -> {:.1f} MB in {:.1f} s\n", o->output,
               static_cast<double>(in.file_size()) / 1e6, static_cast<double>(report.bytes_written) / 1e6,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return 0;
  }};
}

}  // namespace aded::cli
