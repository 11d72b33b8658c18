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

namespace aded::cli {

Command add_run(CLI::App& app) {
  struct Options {
    ModelOptions model;
    std::string prompt, prompt_file;
    int n_predict = 256;
    SamplingParams sampling;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("run", "Generate text from a prompt (streams to stdout, stats to stderr)");
  add_model_options(*cmd, o->model);
  auto* p = cmd->add_option("-p,--prompt", o->prompt, "prompt text (empty: start from BOS)");
  cmd->add_option("-f,--file", o->prompt_file, "read the prompt from a file")->excludes(p);
  cmd->add_option("-n,--n-predict", o->n_predict, "tokens to generate")->check(CLI::Range(0, 1 << 24))->capture_default_str();
  add_sampling_options(*cmd, o->sampling);
  return {cmd, [o] {
    o->sampling.validate();
    if (!o->prompt_file.empty()) o->prompt = read_text_file(o->prompt_file);
    auto model = load_model(o->model);
    Context ctx(model, context_options(o->model));
    const Tokenizer& tok = model->tokenizer();
    std::vector<int32_t> prompt = tok.encode(o->prompt, /*add_bos=*/true);
    if (prompt.empty()) fail("the model's vocabulary has no BOS token, so an empty prompt cannot start generation");
    DecodingSession session(ctx, o->sampling);
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
    const DecodingStats& s = session.stats();
    const double decode_tps = s.decode_seconds > 0 ? s.steps / s.decode_seconds : 0;
    fmt::print(stderr, "prompt: {} tokens, {:.1f} t/s | generated: {} tokens, {:.1f} t/s | threads: {}\n",
               s.prompt_tokens, s.prefill_seconds > 0 ? s.prompt_tokens / s.prefill_seconds : 0.0, produced,
               decode_tps, ctx.pool().size());
    return 0;
  }};
}

}  // namespace aded::cli
