#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "aded/context.h"
#include "aded/error.h"
#include "aded/generator.h"
#include "aded/model.h"
#include "commands.h"
#include "common_options.h"
#include "spec_options.h"

namespace aded::cli {

namespace {

void print_spec_stats(const DecodingStats& s) {
  if (s.steps == 0) return;
  fmt::print(stderr, "speculation: {} steps, {:.2f} tokens/step, {:.2f} draft nodes verified/step, draft {:.3f} ms/step, "
                     "verify {:.3f} ms/step\n",
             s.steps, static_cast<double>(s.generated - 1) / s.steps, static_cast<double>(s.nodes_verified) / s.steps,
             1e3 * s.draft_seconds / s.steps, 1e3 * s.verify_seconds / s.steps);
  std::string depths;
  for (size_t d = 1; d < s.verified_at_depth.size(); ++d) {
    if (s.verified_at_depth[d] == 0) continue;
    depths += fmt::format(" d{}: {}/{} ({:.0f}%)", d, s.accepted_at_depth[d], s.verified_at_depth[d],
                          100.0 * static_cast<double>(s.accepted_at_depth[d]) / static_cast<double>(s.verified_at_depth[d]));
  }
  if (!depths.empty()) fmt::print(stderr, "acceptance by depth (accepted/verified):{}\n", depths);
}

}  // namespace

Command add_run(CLI::App& app) {
  struct Options {
    ModelOptions model;
    std::string prompt, prompt_file;
    int n_predict = 256;
    SamplingParams sampling;
    SpecFlags spec;
    bool spec_stats = false;
    std::vector<std::string> stop;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("run", "Generate text from a prompt (streams to stdout, stats to stderr)");
  add_model_options(*cmd, o->model);
  auto* p = cmd->add_option("-p,--prompt", o->prompt, "prompt text (empty: start from BOS)");
  cmd->add_option("-f,--file", o->prompt_file, "read the prompt from a file")->excludes(p);
  cmd->add_option("-n,--n-predict", o->n_predict, "tokens to generate")->check(int_range(0, 1 << 24))->capture_default_str();
  add_sampling_options(*cmd, o->sampling);
  add_spec_options(*cmd, o->spec);
  cmd->add_flag("--spec-stats", o->spec_stats, "print speculation statistics to stderr");
  cmd->add_option("--stop", o->stop, "stop where this text appears (repeatable; the text is not printed)");
  return {cmd, [o] {
    o->sampling.validate();
    const MethodChoice method = drafter_registry().parse(o->spec.method, o->spec.settings);
    if (!o->prompt_file.empty()) o->prompt = read_text_file(o->prompt_file);
    auto model = load_model(o->model);
    Context ctx(model, context_options(o->model));
    DrafterEnvironment env(model.get(), &ctx);
    const auto speculator = drafter_registry().make_speculator(method, env);
    GenerateOptions g;
    g.sampling = o->sampling;
    g.speculator = speculator.get();
    g.max_new_tokens = o->n_predict;
    g.stop_strings = o->stop;
    std::fwrite(o->prompt.data(), 1, o->prompt.size(), stdout);  // all of it, NUL bytes too
    std::fflush(stdout);
    GenerationCallbacks stream;
    stream.on_text = [](std::string_view text) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
    };
    Generator generator(ctx);
    const Generation result = generator.generate(o->prompt, g, stream);
    std::fputs("\n", stdout);
    std::fflush(stdout);
    if (result.stop == StopReason::ContextFull) fmt::print(stderr, "[context full after {} tokens]\n", ctx.n_past());
    const DecodingStats& s = result.stats;
    // The first token comes from the prefill; the rest from `steps` decoding steps.
    const double decode_tps = s.decode_seconds > 0 && s.generated > 1 ? (s.generated - 1) / s.decode_seconds : 0;
    if (o->spec_stats) print_spec_stats(s);
    // After the run, so that a failure stays the one line it is.
    fmt::print(stderr, "context: {} tokens, KV cache {}/{}: {:.1f} MB when full (taken as text fills it)\n",
               ctx.n_ctx(), tensor_type_name(ctx.cache_type_k()), tensor_type_name(ctx.cache_type_v()),
               static_cast<double>(ctx.kv_cache_bytes()) / 1e6);
    fmt::print(stderr, "prompt: {} tokens, {:.1f} t/s | generated: {} tokens, {:.1f} t/s | threads: {}\n",
               s.prompt_tokens, s.prefill_seconds > 0 ? s.prompt_tokens / s.prefill_seconds : 0.0, s.generated,
               decode_tps, ctx.pool().size());
    // A second or more of every start spent laying out the weights: say how to skip it.
    if (model->packing_seconds() >= 1.0)
      fmt::print(stderr, "startup: {:.1f} s packing the weights for the kernels; `aded repack {} OUT.gguf` writes a "
                 "copy that starts without it\n", model->packing_seconds(), o->model.path);
    return 0;
  }};
}

}  // namespace aded::cli
