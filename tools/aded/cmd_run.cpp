#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "aded/context.h"
#include "aded/decoding.h"
#include "aded/error.h"
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
  return {cmd, [o] {
    o->sampling.validate();
    if (!o->prompt_file.empty()) o->prompt = read_text_file(o->prompt_file);
    auto model = load_model(o->model);
    Context ctx(model, context_options(o->model));
    const Tokenizer& tok = model->tokenizer();
    std::vector<int32_t> prompt = tok.encode(o->prompt, /*add_bos=*/true);
    if (prompt.empty()) fail("the model's vocabulary has no BOS token, so an empty prompt cannot start generation");
    auto drafter = make_drafter(o->spec.method, o->spec, *model);
    SpecFlags flags = o->spec;
    apply_variant(o->spec.method, flags);
    DecodingSession session(ctx, o->sampling, speculation_options(flags, drafter.get()));
    session.prefill(prompt);
    Detokenizer detok(tok);
    for (size_t i = 0; i < prompt.size(); ++i) detok.push(prompt[i]);  // prime the dummy-prefix state
    std::fputs(o->prompt.c_str(), stdout);
    std::fflush(stdout);
    std::vector<int32_t> out;
    int produced = 0;
    while (produced < o->n_predict) {
      out.clear();
      if (!session.step(out)) {
        fmt::print(stderr, "\n[context full after {} tokens]\n", ctx.n_past());
        break;
      }
      bool end = false;
      for (int32_t id : out) {
        if (tok.is_end_of_generation(id) || produced >= o->n_predict) {
          end = true;
          break;
        }
        std::fputs(detok.push(id).c_str(), stdout);
        ++produced;
      }
      std::fflush(stdout);
      if (end) break;
    }
    std::fputs(detok.flush().c_str(), stdout);
    std::fputs("\n", stdout);
    std::fflush(stdout);
    session.finish();
    const DecodingStats& s = session.stats();
    // The first token comes from the prefill; the rest from `steps` decoding steps.
    const double decode_tps = s.decode_seconds > 0 ? (s.generated - 1) / s.decode_seconds : 0;
    if (o->spec_stats) print_spec_stats(s);
    fmt::print(stderr, "prompt: {} tokens, {:.1f} t/s | generated: {} tokens, {:.1f} t/s | threads: {}\n",
               s.prompt_tokens, s.prefill_seconds > 0 ? s.prompt_tokens / s.prefill_seconds : 0.0, produced,
               decode_tps, ctx.pool().size());
    return 0;
  }};
}

}  // namespace aded::cli
