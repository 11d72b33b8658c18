// aded train: pretrain a small Llama model on the CPU and write a GGUF that `aded run` loads.
#include <unistd.h>

#include <cmath>
#include <map>
#include <memory>

#include "aded/error.h"
#include "commands.h"
#include "core/termination_signals.h"
#include "train/checkpoint.h"
#include "train/distill_objective.h"
#include "train/trainer.h"

namespace aded::cli {

namespace {

struct TrainOptions {
  train::TrainOptions train;
  std::string loss = "fkl", tvdpp_norm = "batch", distill_p = "stored";
  int kv_heads = 0, hidden = 0;
  bool untied = false;
  double log_seconds = 10;
  // Flags whose value a resumed run takes from the checkpoint unless they are given.
  std::map<std::string, CLI::Option*> flags;
};

// Llama's feed-forward size for a model dimension: 2/3 of 4 x dim, rounded up to a multiple of 32.
int default_hidden(int dim) {
  return (8 * dim / 3 + 31) / 32 * 32;
}

void add_flags(CLI::App& cmd, TrainOptions& o) {
  train::TrainOptions& t = o.train;
  train::TrainSettings& s = t.settings;
  auto& f = o.flags;
  cmd.add_option("-o,--output", t.output, "GGUF model to write")->required();
  cmd.add_option("--vocab", t.vocab,
                 "vocabulary GGUF whose tokenizer to use (vocab-only is fine; not with --distill)");
  cmd.add_option("--corpus", t.corpus, "training text files (not with --distill)");
  cmd.add_option("--distill", t.distill,
                 "fine-tune --init on this distillation set (aded distill-data) instead");
  cmd.add_option("--init", t.init, "with --distill: the GGUF model to start from (the drafter)");
  cmd.add_option("--target", t.distill_target,
                 "with --distill: the target GGUF (checked against the set's fingerprint)");
  cmd.add_option("--loss", o.loss, "with --distill: fkl, rkl, tvd or tvdpp")->capture_default_str();
  cmd.add_option("--distill-p", o.distill_p,
                 "with --distill: the target distribution scored against: stored (the set's top k, "
                 "the rest spread evenly) or target (the whole distribution, recomputed by running "
                 "--target over each batch)")
      ->capture_default_str();
  cmd.add_option("--tvdpp-norm", o.tvdpp_norm,
                 "TVD++ reward normalization: batch (over the sampled tokens of the batch) or "
                 "position (over the vocabulary at each position)")
      ->capture_default_str();
  cmd.add_option("--valid", t.valid, "validation text files");
  f["dim"] = cmd.add_option("--dim", t.shape.dim, "model dimension")->capture_default_str();
  f["layers"] = cmd.add_option("--layers", t.shape.n_layers, "layers")->capture_default_str();
  f["heads"] = cmd.add_option("--heads", t.shape.n_heads, "attention heads")->capture_default_str();
  f["kv-heads"] = cmd.add_option("--kv-heads", o.kv_heads, "key/value heads (default: --heads)");
  f["hidden"] = cmd.add_option("--hidden", o.hidden, "feed-forward size (default: 8 dim / 3)");
  f["ctx"] = cmd.add_option("--ctx", t.shape.ctx_train, "sequence length")->capture_default_str();
  f["untied"] = cmd.add_flag("--untied", o.untied, "a separate output matrix, not the embedding");
  f["batch"] = cmd.add_option("--batch", s.batch, "sequences per step")->capture_default_str();
  f["lr"] = cmd.add_option("--lr", s.lr, "peak learning rate")->capture_default_str();
  f["warmup"] = cmd.add_option("--warmup", s.warmup_steps, "warm-up steps")->capture_default_str();
  f["steps"] = cmd.add_option("--steps", s.steps, "train this many steps");
  f["minutes"] = cmd.add_option("--minutes", s.minutes,
                                "train this many minutes (the cosine follows the clock; with "
                                "--steps, whichever ends first)");
  f["min-lr"] = cmd.add_option("--min-lr-fraction", s.min_lr_fraction,
                               "final learning rate as a fraction of the peak")
                    ->capture_default_str();
  f["wd"] = cmd.add_option("--weight-decay", s.weight_decay, "AdamW weight decay (on matrices)")
                ->capture_default_str();
  f["clip"] = cmd.add_option("--grad-clip", s.grad_clip, "gradient-norm limit (0: off)")
                  ->capture_default_str();
  f["seed"] = cmd.add_option("--seed", s.seed, "seed of the initial weights and the batches")
                  ->capture_default_str();
  cmd.add_option("-t,--threads", t.threads, "threads (default: all cores)")
      ->check(CLI::Range(1, 1024));
  cmd.add_option("--resume", t.resume,
                 "continue from this checkpoint (its shape and settings unless given here)");
  cmd.add_option("--checkpoint", t.checkpoint, "checkpoint file (default: OUTPUT.ckpt)");
  cmd.add_option("--checkpoint-minutes", t.checkpoint_minutes, "minutes between checkpoints")
      ->capture_default_str();
  cmd.add_option("--eval-interval", t.eval_interval, "steps between validations (0: at the end)")
      ->capture_default_str();
  cmd.add_option("--eval-batches", t.eval_batches, "validation batches")->capture_default_str();
  cmd.add_option("--token-cache", t.token_cache_dir, "token cache directory (default: OUTPUT's)");
  cmd.add_option("--log-seconds", o.log_seconds, "seconds between progress lines")
      ->capture_default_str();
}

// What the command line does not say about a resumed run comes from its checkpoint.
void fill_from_checkpoint(TrainOptions& o) {
  const train::Checkpoint c = train::load_checkpoint(o.train.resume);
  auto keep = [&](const char* flag, auto& value, const auto& saved) {
    if (o.flags.at(flag)->count() == 0) value = saved;
  };
  ModelConfig& shape = o.train.shape;
  keep("dim", shape.dim, c.shape.dim);
  keep("layers", shape.n_layers, c.shape.n_layers);
  keep("heads", shape.n_heads, c.shape.n_heads);
  keep("kv-heads", shape.n_kv_heads, c.shape.n_kv_heads);
  keep("hidden", shape.hidden_dim, c.shape.hidden_dim);
  keep("ctx", shape.ctx_train, c.shape.ctx_train);
  keep("untied", shape.tied_output, c.shape.tied_output);
  train::TrainSettings& s = o.train.settings;
  keep("batch", s.batch, c.settings.batch);
  keep("lr", s.lr, c.settings.lr);
  keep("warmup", s.warmup_steps, c.settings.warmup_steps);
  if (o.flags.at("steps")->count() == 0 && o.flags.at("minutes")->count() == 0) {
    s.steps = c.settings.steps;
    s.minutes = c.settings.minutes;
  }
  keep("min-lr", s.min_lr_fraction, c.settings.min_lr_fraction);
  keep("wd", s.weight_decay, c.settings.weight_decay);
  keep("clip", s.grad_clip, c.settings.grad_clip);
  keep("seed", s.seed, c.settings.seed);
}

std::string duration(double seconds) {
  const auto s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, s / 60 % 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

// Progress on stderr: the first steps, then a line every log_seconds, and the last step.
train::TrainEvents console_events(double log_seconds, const GracefulStop& stop) {
  train::TrainEvents events;
  events.log = [](const std::string& line) { fmt::print(stderr, "{}\n", line); };
  events.tokenize_progress = [](const train::TokenizeProgress& p) {
    if (!isatty(STDERR_FILENO)) return;  // logs get the summary line only
    fmt::print(stderr, "\rtokenizing: {:.1f}/{:.1f} MB, {:.2f}M tokens",
               static_cast<double>(p.bytes_done) / 1e6, static_cast<double>(p.bytes_total) / 1e6,
               static_cast<double>(p.tokens) / 1e6);
    if (p.bytes_done == p.bytes_total) fmt::print(stderr, "\n");
  };
  auto last_line = std::make_shared<double>(-1e9);
  events.step = [last_line, log_seconds](const train::TrainProgress& p) {
    const bool finished = p.total_steps > 0 && p.step == p.total_steps;
    if (p.step > 3 && !finished && p.elapsed_seconds - *last_line < log_seconds) return;
    *last_line = p.elapsed_seconds;
    const std::string total = p.total_steps > 0 ? fmt::format("/{}", p.total_steps) : "";
    const std::string accept =
        p.acceptance >= 0 ? fmt::format("  accept {:.4f}", p.acceptance) : std::string();
    fmt::print(stderr,
               "step {}{}  loss {:.4f}{}  lr {:.2e}  |g| {:.2f}  {:.0f} tok/s  {:.1f} GFLOP/s  {}  "
               "ETA {}\n",
               p.step, total, p.loss, accept, p.lr, p.grad_norm, p.tokens_per_second, p.gflops,
               duration(p.elapsed_seconds), duration(p.eta_seconds));
  };
  events.validation = [](uint64_t step, double loss) {
    fmt::print(stderr, "step {}  valid loss {:.4f}\n", step, loss);
  };
  events.stop_requested = [&stop] { return stop.requested(); };
  return events;
}

// Per-step phase times and throughput. CPU use below the thread count means other processes
// took part of the machine; GFLOP per CPU-second is the throughput without them.
void print_timing(const train::TrainReport& r, int tokens_per_step) {
  const double n = static_cast<double>(r.steps_this_run);
  const double flops = 6.0 * static_cast<double>(r.parameters) * tokens_per_step * n;
  fmt::print(stderr,
             "{} steps in {:.1f} s: {:.3f} s/step (forward {:.3f}, output {:.3f}, backward {:.3f}, "
             "optimizer {:.3f}, data {:.3f}); {:.1f} GFLOP/s; CPU use {:.2f} cores, {:.1f} GFLOP "
             "per CPU-second\n",
             r.steps_this_run, r.train_seconds, r.train_seconds / n, r.pass_times.forward / n,
             r.pass_times.output / n, r.pass_times.backward / n, r.optimizer_seconds / n,
             r.data_seconds / n, flops / r.train_seconds / 1e9, r.cpu_seconds / r.train_seconds,
             flops / r.cpu_seconds / 1e9);
}

int run_train(TrainOptions& o) {
  if (!(o.log_seconds >= 0 && std::isfinite(o.log_seconds)))
    fail("--log-seconds must be a finite number >= 0, not {}", o.log_seconds);
  train::TrainOptions& t = o.train;
  t.shape.n_kv_heads = o.kv_heads > 0 ? o.kv_heads : t.shape.n_heads;
  t.shape.hidden_dim = o.hidden > 0 ? o.hidden : default_hidden(t.shape.dim);
  t.shape.tied_output = !o.untied;
  if (!t.resume.empty()) fill_from_checkpoint(o);
  if (t.distilling()) {
    if (!t.vocab.empty() || !t.corpus.empty() || !t.valid.empty())
      fail("--distill fine-tunes --init on the set: --vocab, --corpus and --valid do not apply");
    for (const char* flag : {"dim", "layers", "heads", "kv-heads", "hidden", "untied"})
      if (o.flags.at(flag)->count() > 0)
        fail("--{} does not apply to --distill (the shape is --init's)", flag);
    t.loss = train::parse_distill_loss(o.loss);
    t.advantage_norm = train::parse_advantage_norm(o.tvdpp_norm);
    if (o.distill_p != "stored" && o.distill_p != "target")
      fail("--distill-p {}: stored or target", o.distill_p);
    t.distill_recompute = o.distill_p == "target";
    // A resumed run keeps the checkpoint's window (fill_from_checkpoint put it in ctx).
    if (o.flags.at("ctx")->count() > 0 || !t.resume.empty()) t.distill_window = t.shape.ctx_train;
  } else {
    if (t.vocab.empty()) fail("--vocab is required (or --distill SET --init MODEL)");
    if (t.corpus.empty()) fail("--corpus is required (or --distill SET --init MODEL)");
    if (!t.init.empty() || !t.distill_target.empty()) fail("--init and --target go with --distill");
    if (o.distill_p != "stored") fail("--distill-p goes with --distill");
  }
  // Ctrl-C or SIGTERM (a job scheduler, `timeout`, a shutdown): checkpoint and model are written
  // at the end of the current step; a second one ends the process at once.
  GracefulStop stop;
  const train::TrainReport r = train::train(t, console_events(o.log_seconds, stop));
  if (r.steps_this_run > 0) print_timing(r, static_cast<int>(r.tokens_per_step));
  if (r.valid_loss >= 0) fmt::print(stderr, "final valid loss {:.4f}\n", r.valid_loss);
  return r.interrupted ? 128 + stop.signal() : 0;
}

}  // namespace

Command add_train(CLI::App& app) {
  auto o = std::make_shared<TrainOptions>();
  auto* cmd = app.add_subcommand(
      "train",
      "Pretrain a small Llama model on text files (CPU, fp32) and write a GGUF; or, with "
      "--distill, fine-tune a drafter on a target's distillation set");
  add_flags(*cmd, *o);
  cmd->footer(
      "Ctrl-C or SIGTERM writes the checkpoint and the model at the end of the current step (exit "
      "code 130 or 143; --resume continues); a second one stops at once. -o and --checkpoint are "
      "checked before the corpus is read.");
  return {cmd, [o] { return run_train(*o); }};
}

}  // namespace aded::cli
