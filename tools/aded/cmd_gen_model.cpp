#include <chrono>
#include <memory>

#include "aded/error.h"
#include "aded/gguf.h"
#include "aded/model_tools.h"
#include "commands.h"
#include "core/output_target.h"
#include "progress_line.h"

namespace aded::cli {

Command add_gen_model(CLI::App& app) {
  struct Options {
    std::string shape = "tiny", type = "F16", vocab, output;
    uint64_t seed = 1;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("gen-model", "Write a random-weight model of a real shape (for tests and timing)");
  cmd->add_option("--shape", o->shape, "shape: " + named_model_shapes())->capture_default_str();
  cmd->add_option("--type", o->type, "weight type: F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K")->capture_default_str();
  cmd->add_option("--vocab", o->vocab, "take the vocabulary from this GGUF (e.g. a vocab-only file)");
  cmd->add_option("--seed", o->seed, "random seed")->capture_default_str();
  cmd->add_option("-o,--output", o->output, "GGUF file to write")->required();
  return {cmd, [o] {
    RandomModelOptions r;
    auto shape = named_model_shape(o->shape);
    if (!shape) fail("unknown shape '{}' (known: {})", o->shape, named_model_shapes());
    r.shape = *shape;
    auto type = parse_tensor_type(o->type);
    if (!type) fail("unknown tensor type '{}'", o->type);
    r.type = *type;
    r.vocab_path = o->vocab;
    r.seed = o->seed;
    auto progress = std::make_shared<ProgressLine>();
    r.progress = [progress](size_t done, size_t total) {
      progress->update(fmt::format("writing tensors {} {}/{}", ProgressLine::bar(done, total), done, total), done == total);
    };
    const auto start = std::chrono::steady_clock::now();
    check_output_file(o->output, {o->vocab});
    const uint64_t written = write_random_model(r, o->output);
    fmt::print(stderr, "wrote {}: {} {} ({:.1f} MB) in {:.1f} s\n", o->output, o->shape, o->type,
               static_cast<double>(written) / 1e6,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return 0;
  }};
}

}  // namespace aded::cli
