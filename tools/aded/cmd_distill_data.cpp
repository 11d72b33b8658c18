// aded distill-data: the target writes responses to prompts; the set keeps them with the target's
// top-k distribution at every response position, for `aded train --distill`.
#include <cmath>

#include "aded/error.h"
#include "commands.h"
#include "common_options.h"
#include "core/termination_signals.h"
#include "distillation/distill_data.h"
#include "progress_line.h"

namespace aded::cli {

namespace {

std::string duration(double seconds) {
  const auto s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, s / 60 % 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

int run_distill_data(distill::DataOptions& o) {
  // Ctrl-C or SIGTERM: the set is saved after the current response; a rerun continues it.
  GracefulStop stop;
  ProgressLine line;
  distill::DataEvents events;
  events.log = [](const std::string& s) { fmt::print(stderr, "{}\n", s); };
  events.progress = [&line](const distill::DataProgress& p) {
    const double per_item = p.seconds / static_cast<double>(p.items_done);
    const double eta = per_item * static_cast<double>(p.items_total - p.items_done);
    line.update(fmt::format("{} {}/{} responses, {} tokens, {:.0f} tok/s, {}  ETA {}",
                            ProgressLine::bar(p.items_done, p.items_total), p.items_done,
                            p.items_total, p.tokens, static_cast<double>(p.tokens) / p.seconds,
                            duration(p.seconds), duration(eta)),
                p.items_done == p.items_total);
  };
  events.stop_requested = [&stop] { return stop.requested(); };
  const distill::DataReport r = distill::make_distill_set(o, events);
  line.finish();
  fmt::print(stderr, "{}{}: {} records ({} new, {} response tokens in {})\n",
             r.interrupted ? "interrupted: " : "", o.output, r.records_before + r.records_added,
             r.records_added, r.tokens_added, duration(r.seconds));
  if (r.interrupted) fmt::print(stderr, "rerun the same command to continue\n");
  return r.interrupted ? 128 + stop.signal() : 0;
}

}  // namespace

Command add_distill_data(CLI::App& app) {
  auto o = std::make_shared<distill::DataOptions>();
  auto* cmd = app.add_subcommand(
      "distill-data",
      "Make a distillation set: the target's responses to prompts with its top-k distribution at "
      "every response position (for aded train --distill)");
  cmd->add_option("-m,--model", o->target, "target GGUF model")->required();
  cmd->add_option("--prompts", o->prompt_files,
                  "prompt files: .jsonl/.jsonl.gz (one prompt a line, \"prompt\" or \"turns\"), "
                  "any other file is one prompt")
      ->required();
  cmd->add_option("-o,--output", o->output,
                  "distillation set to write (an existing one made the same way is continued)")
      ->required();
  cmd->add_option("--samples-per-prompt", o->samples_per_prompt, "responses per prompt")
      ->capture_default_str();
  cmd->add_option("--temp", o->temperature, "sampling temperature of the responses (0: greedy)")
      ->capture_default_str();
  cmd->add_option("--top-k-probs", o->top_k_probs,
                  "most likely tokens whose probabilities are kept per position")
      ->capture_default_str();
  cmd->add_option("-n,--max-tokens", o->max_tokens, "most tokens per response")
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "seed of the responses")->capture_default_str();
  cmd->add_option("-t,--threads", o->threads, "threads (default: all cores)")
      ->check(int_range(1, 1024));
  cmd->add_option("--save-seconds", o->save_seconds, "seconds between saves of the set")
      ->capture_default_str();
  cmd->footer(
      "The set is written safely (the old file or the whole new one) every --save-seconds and at "
      "the end; Ctrl-C saves after the current response (exit 130), a second one stops at once. "
      "Rerun the same command to continue. Format: docs/distillation.md.");
  return {cmd, [o] { return run_distill_data(*o); }};
}

}  // namespace aded::cli
