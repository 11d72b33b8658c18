// aded eval-drafter: how well a draft model fits a target (acceptance, block efficiency,
// memory-bound speed-up) on the target's own responses, and the measured speed-up of drafting
// with it.
#include <nlohmann/json.hpp>

#include "aded/error.h"
#include "commands.h"
#include "common_options.h"
#include "distillation/distill_data.h"
#include "distillation/drafter_evaluation.h"
#include "spec_options.h"

namespace aded::cli {

namespace {

struct EvalDrafterOptions {
  std::string target, drafter, spec;
  std::vector<std::string> prompts;
  float temperature = 0;
  int max_tokens = 128;
  uint64_t seed = 1;
  int threads = 0;
  bool json = false, no_speed = false;
};

int run_eval_drafter(const EvalDrafterOptions& o) {
  if (!(o.temperature >= 0 && std::isfinite(o.temperature)))
    fail("--temp must be a finite number >= 0, not {}", o.temperature);
  if (o.max_tokens < 1) fail("--max-tokens must be at least 1, not {}", o.max_tokens);
  const std::vector<distill::Prompt> prompts = distill::read_prompts(o.prompts);
  const auto target = Model::load(o.target);
  const auto drafter = Model::load(o.drafter);
  if (target->config().n_vocab != drafter->config().n_vocab)
    fail("the drafter {} has a vocabulary of {} tokens, the target {} one of {}", o.drafter,
         drafter->config().n_vocab, o.target, target->config().n_vocab);
  ContextOptions copts;
  copts.n_threads = o.threads;
  Context tctx(target, copts);
  ContextOptions dopts;
  dopts.pool = tctx.shared_pool();
  Context dctx(drafter, dopts);

  std::vector<std::vector<int32_t>> prompt_tokens;
  std::vector<std::vector<double>> acceptances;
  const SamplingParams sampling = distill::response_sampling(o.temperature, o.seed);
  for (const distill::Prompt& p : prompts) {
    std::vector<int32_t> ids = target->tokenizer().encode(p.text, /*add_bos=*/true);
    const int room = std::min(tctx.n_ctx(), dctx.n_ctx());
    if (ids.empty() || static_cast<int>(ids.size()) + o.max_tokens > room) {
      fmt::print(stderr, "skipping prompt {}: {} tokens and --max-tokens {} do not fit {}\n", p.id,
                 ids.size(), o.max_tokens, room);
      continue;
    }
    const auto tokens =
        distill::target_response(tctx, ids, sampling, static_cast<uint32_t>(o.max_tokens));
    acceptances.push_back(
        distill::position_acceptance(tctx, dctx, tokens, ids.size(), o.temperature));
    prompt_tokens.push_back(std::move(ids));
  }
  if (prompt_tokens.empty()) fail("no prompt fits the contexts: nothing to evaluate");
  const double c = static_cast<double>(target->parameter_count()) /
                   static_cast<double>(drafter->parameter_count());
  const distill::AcceptanceReport r = distill::summarize_acceptance(acceptances, c);

  double plain_tps = 0, spec_tps = 0;
  std::string method = o.spec.empty() ? "draft:model=" + o.drafter : o.spec;
  if (!o.no_speed) {
    GenerateOptions g;
    g.sampling = sampling;
    g.max_new_tokens = o.max_tokens;
    const MethodChoice choice = drafter_registry().parse(method);
    DrafterEnvironment env(target.get(), &tctx);
    const auto speculator = drafter_registry().make_speculator(choice, env);
    GenerateOptions s = g;
    s.speculator = speculator.get();
    // A warm-up prompt each (weights packed, pages and caches warm), then two alternating rounds,
    // so that a slow spell of a shared machine hits both alike.
    const std::vector<std::vector<int32_t>> first(prompt_tokens.begin(), prompt_tokens.begin() + 1);
    distill::measure_decoding(tctx, first, g);
    distill::measure_decoding(tctx, first, s);
    distill::Throughput plain, spec;
    for (int round = 0; round < 2; ++round) {
      const distill::Throughput p = distill::measure_decoding(tctx, prompt_tokens, g);
      const distill::Throughput q = distill::measure_decoding(tctx, prompt_tokens, s);
      plain.tokens += p.tokens, plain.seconds += p.seconds;
      spec.tokens += q.tokens, spec.seconds += q.seconds;
    }
    plain_tps = plain.tokens_per_second();
    spec_tps = spec.tokens_per_second();
  }

  if (o.json) {
    nlohmann::json j;
    j["target"] = o.target;
    j["drafter"] = o.drafter;
    j["temperature"] = o.temperature;
    j["prompts"] = prompt_tokens.size();
    j["positions"] = r.positions;
    j["alpha"] = r.alpha;
    j["c"] = r.c;
    for (int g = 1; g <= distill::kMaxGamma; ++g) {
      j["tau"].push_back(r.tau[g]);
      j["tau_iid"].push_back(r.tau_iid[g]);
      j["mbsu"].push_back(r.mbsu[g]);
    }
    if (!o.no_speed) {
      j["method"] = method;
      j["plain_tokens_per_second"] = plain_tps;
      j["spec_tokens_per_second"] = spec_tps;
      j["speedup"] = plain_tps > 0 ? spec_tps / plain_tps : 0.0;
    }
    fmt::print("{}\n", j.dump(2));
    return 0;
  }
  fmt::print("target {} ({:.2f}M params), drafter {} ({:.2f}M): c = {:.2f}\n", o.target,
             static_cast<double>(target->parameter_count()) / 1e6, o.drafter,
             static_cast<double>(drafter->parameter_count()) / 1e6, r.c);
  fmt::print("{} prompts, {} response positions at temperature {}: alpha = {:.4f}\n",
             prompt_tokens.size(), r.positions, o.temperature, r.alpha);
  fmt::print("| gamma | tau    | tau iid | MBSU   |\n|------:|-------:|--------:|-------:|\n");
  for (int g = 1; g <= distill::kMaxGamma; ++g)
    fmt::print("| {:5} | {:6.3f} | {:7.3f} | {:6.3f} |\n", g, r.tau[g], r.tau_iid[g], r.mbsu[g]);
  if (!o.no_speed)
    fmt::print("measured: plain {:.1f} tok/s, {} {:.1f} tok/s: speed-up {:.2f}x\n", plain_tps,
               method, spec_tps, plain_tps > 0 ? spec_tps / plain_tps : 0.0);
  return 0;
}

}  // namespace

Command add_eval_drafter(CLI::App& app) {
  auto o = std::make_shared<EvalDrafterOptions>();
  auto* cmd = app.add_subcommand(
      "eval-drafter",
      "Acceptance, block efficiency, memory-bound speed-up and measured speed-up of a draft model "
      "on the target's own responses");
  cmd->add_option("-m,--model", o->target, "target GGUF model")->required();
  cmd->add_option("--model-draft", o->drafter, "draft GGUF model (-md also works)")->required();
  cmd->add_option("--prompts", o->prompts, "prompt files (as for distill-data)")->required();
  cmd->add_option("--temp", o->temperature,
                  "temperature of the responses and of p and q (0: greedy)")
      ->capture_default_str();
  cmd->add_option("-n,--max-tokens", o->max_tokens, "most tokens per response")
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "sampling seed")->capture_default_str();
  cmd->add_option("-t,--threads", o->threads, "threads (default: all cores)")
      ->check(int_range(1, 1024));
  cmd->add_option("--spec", o->spec,
                  "method to time against plain decoding (default: draft:model=DRAFTER)");
  cmd->add_flag("--no-speed", o->no_speed, "skip the timed generations");
  cmd->add_flag("--json", o->json, "print the results as JSON");
  cmd->footer(
      "tau is the mean over start positions of 1 + sum_{j<=gamma} prod_{i<j} beta_{t+i}; "
      "MBSU = c tau / (c gamma + 1). Formulas: docs/distillation.md.");
  return {cmd, [o] { return run_eval_drafter(*o); }};
}

}  // namespace aded::cli
