#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <deque>
#include <filesystem>
#include <thread>

#include "aded/error.h"
#include "aded/gguf.h"
#include "aded/tokenizer.h"
#include "core/output_target.h"
#include "distillation/distill_set.h"
#include "tokenizer/vocab_metadata.h"
#include "train/adamw.h"
#include "train/batch_sampler.h"
#include "train/blas.h"
#include "train/checkpoint.h"
#include "train/distill_objective.h"
#include "train/gguf_import.h"
#include "train/model_export.h"
#include "train/target_distributions.h"

namespace aded::train {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// CPU time of the whole process (all threads).
double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

void check_settings(const TrainSettings& s) {
  if (s.batch < 1 || s.batch > 65536) fail("--batch must be between 1 and 65536, not {}", s.batch);
  if (!(s.lr > 0) || !std::isfinite(s.lr)) fail("--lr must be positive, not {}", s.lr);
  if (s.steps < 0 || s.minutes < 0 || !std::isfinite(s.minutes))
    fail("--steps and --minutes must not be negative");
  if (s.steps == 0 && s.minutes == 0) fail("say how long to train: --steps N or --minutes M");
  if (s.warmup_steps < 0) fail("--warmup must not be negative");
  // Written as "not inside" so that NaN, which fails every comparison, is refused too.
  if (!(s.min_lr_fraction >= 0 && s.min_lr_fraction <= 1))
    fail("--min-lr-fraction must be in [0, 1], not {}", s.min_lr_fraction);
  if (!(s.weight_decay >= 0 && std::isfinite(s.weight_decay)))
    fail("--weight-decay must be a finite number >= 0, not {}", s.weight_decay);
  if (!(s.grad_clip >= 0 && std::isfinite(s.grad_clip)))
    fail("--grad-clip must be a finite number >= 0, not {}", s.grad_clip);
  if (!(s.beta1 >= 0 && s.beta1 < 1 && s.beta2 >= 0 && s.beta2 < 1))
    fail("the AdamW betas must be in [0, 1), not {} and {}", s.beta1, s.beta2);
}

// The vocabulary file must be a GGUF with tokenizer metadata.
std::unique_ptr<Tokenizer> open_tokenizer(const GgufFile& vocab) {
  require_vocabulary(vocab);
  return Tokenizer::from_gguf(vocab);
}

std::string default_cache_dir(const std::string& output) {
  const auto parent = std::filesystem::path(output).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

// One training run: set up (vocabulary, data, weights), loop over steps, write the results.
class Run {
 public:
  Run(const TrainOptions& o, const TrainEvents& e) : o_(o), events_(e) {}
  TrainReport go();

 private:
  void log(const std::string& line) const {
    if (events_.log) events_.log(line);
  }
  void check_options();
  void check_distill_options();
  void check_outputs();
  CorpusTokens load(const std::vector<std::string>& files, const char* what) const;
  void set_up_weights();
  bool done() const;
  double progress() const;  // of the cosine schedule, in [0, 1]
  void step();
  double distill_step_loss();
  void report_step(double loss, float lr, double norm, double seconds);
  void validate();
  void save_checkpoint_now() const;
  void finish();

  const TrainOptions& o_;
  const TrainEvents& events_;
  ModelConfig shape_;
  TrainSettings settings_;
  std::unique_ptr<GgufFile> vocab_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::shared_ptr<ThreadPool> pool_;
  CorpusTokens corpus_, valid_;
  std::unique_ptr<WindowSampler> sampler_;
  std::unique_ptr<ParameterLayout> layout_;
  std::vector<float> params_, grads_;
  std::unique_ptr<AdamW> adam_;
  std::unique_ptr<LlamaTrainingPass<float>> pass_;
  TrainState state_;
  TrainReport report_;
  TokenBatch batch_;
  // Distillation: the model started from, the set, this step's batch and its loss.
  std::shared_ptr<const Model> init_model_;
  distill::DistillSet set_;
  DistillBatch distill_batch_;
  std::unique_ptr<DistillObjective<float>> objective_;
  // With distill_recompute: the target, which recomputes each batch's distributions (dense_p_).
  std::shared_ptr<const Model> target_model_;
  std::unique_ptr<TargetDistributions> target_p_;
  std::vector<float> dense_p_;
  ModelConfig export_shape_;  // the shape written out (the model's own context length)
  double acceptance_ = -1;
  PassTimes validation_times_;  // kept out of the training phase times
  std::deque<double> recent_;   // seconds of the last steps, for the throughput
  Clock::time_point run_start_;
  double elapsed_before_ = 0;  // training time before a resume
  bool output_is_file_ = true;  // false: -o is a device or pipe
};

void Run::check_options() {
  if (o_.output.empty()) fail("no output model given (-o)");
  if (o_.distilling()) return check_distill_options();
  if (o_.corpus.empty()) fail("no corpus given (--corpus FILE...)");
  if (o_.eval_batches < 1) fail("--eval-batches must be at least 1");
  if (o_.eval_interval < 0) fail("--eval-interval must not be negative, not {}", o_.eval_interval);
  // Written as "not inside" so that NaN is refused too (it would never checkpoint).
  if (!(o_.checkpoint_minutes >= 0 && std::isfinite(o_.checkpoint_minutes)))
    fail("--checkpoint-minutes must be a finite number >= 0, not {}", o_.checkpoint_minutes);
  check_outputs();
  settings_ = o_.settings;
  check_settings(settings_);
  vocab_ = std::make_unique<GgufFile>(GgufFile::open(o_.vocab));
  tokenizer_ = open_tokenizer(*vocab_);
  shape_ = o_.shape;
  shape_.n_vocab = tokenizer_->size();
  shape_.fill_conventions();
  shape_.validate();
  if (shape_.arch != Architecture::Llama) fail("the trainer makes llama models only");
  if (shape_.ctx_train < 2 || shape_.ctx_train > (1 << 16))
    fail("the sequence length (--ctx) must be between 2 and 65536, not {}", shape_.ctx_train);
  export_shape_ = shape_;
}

// Fine-tuning on a distillation set: the shape and vocabulary are the init model's; the set must
// be in its vocabulary (and made by --target when one is given).
void Run::check_distill_options() {
  if (o_.init.empty()) fail("--distill needs the model to start from (--init DRAFTER.gguf)");
  check_outputs();
  settings_ = o_.settings;
  check_settings(settings_);
  init_model_ = Model::load(o_.init);
  export_shape_ = trainable_shape(*init_model_, o_.init);
  vocab_ = std::make_unique<GgufFile>(GgufFile::open(o_.init));
  set_ = distill::read_set(o_.distill);
  if (set_.records.empty()) fail("{}: the distillation set has no records", o_.distill);
  if (set_.info.n_vocab != static_cast<uint32_t>(export_shape_.n_vocab))
    fail("{} is in a vocabulary of {} tokens, {} in one of {}", o_.distill, set_.info.n_vocab,
         o_.init, export_shape_.n_vocab);
  if (o_.distill_recompute && o_.distill_target.empty())
    fail("recomputing the target's distributions (--distill-p target) needs the target (--target)");
  if (!o_.distill_target.empty()) {
    const auto target = Model::load(o_.distill_target);
    if (distill::target_key(*target) != set_.info.target_key)
      fail("{} was not made by {} (it was made by {})", o_.distill, o_.distill_target,
           set_.info.target_name);
    if (o_.distill_recompute) target_model_ = target;
  }
  shape_ = export_shape_;
  shape_.ctx_train = o_.distill_window > 0 ? o_.distill_window : export_shape_.ctx_train;
  if (shape_.ctx_train < 2 || shape_.ctx_train > export_shape_.ctx_train)
    fail("the distillation window (--ctx) must be between 2 and the model's context ({}), not {}",
         export_shape_.ctx_train, shape_.ctx_train);
  objective_ = std::make_unique<DistillObjective<float>>(set_, o_.loss, o_.advantage_norm);
  double rest = 0;
  for (const distill::Record& r : set_.records)
    for (float v : r.rest) rest += v;
  log(fmt::format("distillation set {}: {} records, {} response positions, the top {} of {} keep "
                  "{:.2f}% of {}'s probability on average",
                  o_.distill, set_.records.size(), set_.response_positions(), set_.info.top_k,
                  set_.info.n_vocab,
                  100.0 * (1.0 - rest / static_cast<double>(set_.response_positions())),
                  set_.info.target_name));
  if (o_.distill_recompute)
    log(fmt::format("scoring against {}'s whole distribution, recomputed for every batch",
                    o_.distill_target));
}

// Both outputs are checked before the tokenizing and the training, not when they are written at
// the end: a missing folder, a folder, or an input file given as an output fails at once. The
// checkpoint may be the one resumed from (it is read whole before it is replaced). A model
// written to a device or pipe (-o /dev/null) has no folder for the default checkpoint and
// token cache.
void Run::check_outputs() {
  std::vector<std::filesystem::path> inputs(o_.corpus.begin(), o_.corpus.end());
  inputs.insert(inputs.end(), o_.valid.begin(), o_.valid.end());
  for (const std::string* f : {&o_.vocab, &o_.distill, &o_.init, &o_.distill_target})
    if (!f->empty()) inputs.emplace_back(*f);
  inputs.emplace_back(o_.resume);
  check_output_file(o_.output, inputs);
  inputs.pop_back();
  output_is_file_ = resolve_output(o_.output).kind == OutputTarget::Kind::kReplace;
  if (o_.checkpoint.empty() && !output_is_file_)
    fail("-o {} is not a regular file, so no checkpoint can go beside it: give --checkpoint FILE",
         o_.output);
  report_.checkpoint_path = o_.checkpoint.empty() ? o_.output + ".ckpt" : o_.checkpoint;
  check_output_file(report_.checkpoint_path, inputs);
  if (output_is_file_ && same_file(o_.output, report_.checkpoint_path))  // a device may take both
    fail("the model (-o {}) and the checkpoint (--checkpoint {}) must be different files", o_.output,
         report_.checkpoint_path);
}

CorpusTokens Run::load(const std::vector<std::string>& files, const char* what) const {
  CorpusOptions c;
  c.files = files;
  c.vocab_path = o_.vocab;
  c.cache_dir = !o_.token_cache_dir.empty() ? o_.token_cache_dir
                : output_is_file_            ? default_cache_dir(o_.output)
                                             : std::string();
  c.progress = events_.tokenize_progress;
  const auto start = Clock::now();
  CorpusTokens tokens = load_corpus(c, *tokenizer_, *pool_);
  log(fmt::format("{}: {} file(s), {:.1f} MB, {} documents -> {} tokens ({})", what, files.size(),
                  static_cast<double>(tokens.bytes) / 1e6, tokens.documents, tokens.tokens.size(),
                  tokens.from_cache ? "cached: " + tokens.cache_path
                                    : fmt::format("tokenized in {:.1f} s", seconds_since(start))));
  if (!tokens.cache_error.empty()) log("warning: tokens not cached: " + tokens.cache_error);
  return tokens;
}

// Fresh weights from the seed, or the checkpoint's weights and optimizer state.
void Run::set_up_weights() {
  layout_ = std::make_unique<ParameterLayout>(shape_);
  grads_.assign(layout_->size(), 0.0f);
  adam_ = std::make_unique<AdamW>(
      *layout_, AdamWConfig{settings_.beta1, settings_.beta2, 1e-8f, settings_.weight_decay});
  state_.corpus_key = corpus_.key;
  if (o_.resume.empty()) {
    params_.resize(layout_->size());
    if (init_model_)
      import_parameters(*init_model_, *layout_, params_);
    else
      init_parameters<float>(*layout_, settings_.seed, params_);
    return;
  }
  Checkpoint c = load_checkpoint(o_.resume);
  check_resumable(c, shape_, o_.resume);
  params_ = std::move(c.params);
  adam_->restore(c.state.step, c.adam_m, c.adam_v);
  state_ = c.state;
  if (state_.corpus_key != corpus_.key)
    log("warning: the corpus or vocabulary differs from the one the checkpoint was trained on");
  state_.corpus_key = corpus_.key;
  log(fmt::format("resuming {} at step {} ({:.1f} min trained)", o_.resume, state_.step,
                  state_.elapsed_seconds / 60));
}

// With both --steps and --minutes, whichever comes first ends the run (the schedule follows steps).
bool Run::done() const {
  if (settings_.steps > 0 && state_.step >= static_cast<uint64_t>(settings_.steps)) return true;
  return settings_.minutes > 0 && state_.elapsed_seconds >= settings_.minutes * 60.0;
}

double Run::progress() const {
  if (settings_.steps == 0) return state_.elapsed_seconds / (settings_.minutes * 60.0);
  const int64_t decay_steps = std::max<int64_t>(1, settings_.steps - settings_.warmup_steps);
  return static_cast<double>(static_cast<int64_t>(state_.step) - settings_.warmup_steps) /
         static_cast<double>(decay_steps);
}

void Run::step() {
  const auto start = Clock::now();
  const double cpu_start = process_cpu_seconds();
  if (objective_) {
    sample_distill_batch(set_, shape_.ctx_train, settings_.batch, settings_.seed, state_.step,
                         distill_batch_);
    if (target_p_) target_p_->compute(set_, distill_batch_, shape_.ctx_train, dense_p_);
  } else {
    sample_batch(corpus_.tokens, shape_.ctx_train, *sampler_, state_.step, settings_.batch, batch_);
  }
  pool_->run([&](int t, int nt) {
    int64_t begin, end;
    ThreadPool::split(static_cast<int64_t>(grads_.size()), 1024, t, nt, begin, end);
    std::fill(grads_.begin() + begin, grads_.begin() + end, 0.0f);
  });
  report_.data_seconds += seconds_since(start);

  const double loss =
      objective_ ? distill_step_loss()
                 : pass_->run(params_.data(), batch_.inputs, batch_.targets, grads_.data());
  if (!std::isfinite(loss))
    fail("training diverged at step {}: the loss is {} (try a lower --lr)", state_.step + 1, loss);

  const auto optimizer_start = Clock::now();
  const double norm = global_norm(*pool_, grads_);
  const LrSchedule schedule{settings_.lr, settings_.warmup_steps, settings_.min_lr_fraction};
  const float lr = learning_rate(schedule, static_cast<int64_t>(state_.step), progress());
  adam_->step(*pool_, params_, grads_, lr, clip_scale(norm, settings_.grad_clip));
  report_.optimizer_seconds += seconds_since(optimizer_start);

  const double seconds = seconds_since(start);
  report_.train_seconds += seconds;
  report_.cpu_seconds += process_cpu_seconds() - cpu_start;
  ++state_.step;
  ++report_.steps_this_run;
  state_.tokens_seen += objective_ ? distill_batch_.inputs.size() : batch_.inputs.size();
  state_.elapsed_seconds = elapsed_before_ + seconds_since(run_start_);
  report_.last_loss = loss;
  report_step(loss, lr, norm, seconds);
}

// The distillation loss of the step's batch and its gradient. TVD++ per batch first draws a token
// at every position from the drafter (a pass without gradient), then normalizes the rewards.
double Run::distill_step_loss() {
  objective_->set_batch(distill_batch_);
  if (objective_->needs_sampling()) {
    objective_->start_sampling(settings_.seed, state_.step);
    pass_->run(params_.data(), distill_batch_.inputs, *objective_, nullptr);
    objective_->finish_sampling();
  }
  const double loss = pass_->run(params_.data(), distill_batch_.inputs, *objective_, grads_.data());
  acceptance_ = objective_->mean_acceptance();
  return loss;
}

void Run::report_step(double loss, float lr, double norm, double seconds) {
  recent_.push_back(seconds);
  if (recent_.size() > 10) recent_.pop_front();
  if (!events_.step) return;
  double recent_seconds = 0;
  for (double s : recent_) recent_seconds += s;
  const double seconds_per_step = recent_seconds / static_cast<double>(recent_.size());
  TrainProgress p;
  p.step = state_.step;
  p.total_steps = static_cast<uint64_t>(settings_.steps);
  p.loss = loss;
  p.lr = lr;
  p.grad_norm = norm;
  p.tokens_per_second =
      static_cast<double>(objective_ ? distill_batch_.inputs.size() : batch_.inputs.size()) /
      seconds_per_step;
  p.acceptance = acceptance_;
  p.gflops = 6.0 * static_cast<double>(report_.parameters) * p.tokens_per_second / 1e9;
  p.elapsed_seconds = state_.elapsed_seconds;
  p.eta_seconds = settings_.steps > 0
                      ? static_cast<double>(p.total_steps - state_.step) * seconds_per_step
                      : std::max(0.0, settings_.minutes * 60.0 - state_.elapsed_seconds);
  events_.step(p);
}

// Mean loss over eval_batches batches of evenly spaced windows of the validation text.
void Run::validate() {
  const PassTimes before = pass_->times();
  TokenBatch batch;
  double sum = 0;
  const int per_batch = settings_.batch, total = o_.eval_batches * per_batch;
  for (int b = 0; b < o_.eval_batches; ++b) {
    evenly_spaced_batch(valid_.tokens, shape_.ctx_train, b * per_batch, per_batch, total, batch);
    sum += pass_->run(params_.data(), batch.inputs, batch.targets, nullptr);
  }
  report_.valid_loss = sum / o_.eval_batches;
  validation_times_.forward += pass_->times().forward - before.forward;
  validation_times_.output += pass_->times().output - before.output;
  if (events_.validation) events_.validation(state_.step, report_.valid_loss);
}

void Run::save_checkpoint_now() const {
  save_checkpoint(report_.checkpoint_path, shape_, settings_, state_, params_,
                  adam_->first_moment(), adam_->second_moment());
}

void Run::finish() {
  report_.steps = state_.step;
  report_.pass_times = pass_->times();
  report_.pass_times.forward -= validation_times_.forward;
  report_.pass_times.output -= validation_times_.output;
  if (report_.interrupted && report_.steps_this_run == 0) {
    log("interrupted before the first step: nothing written");
    return;
  }
  save_checkpoint_now();
  export_model(o_.output, ParameterLayout(export_shape_), params_, *vocab_,
               fmt::format("aded train: {:.1f}M llama, {} steps{}",
                           static_cast<double>(report_.parameters) / 1e6, state_.step,
                           objective_ ? " of distillation from " + set_.info.target_name : ""));
  log(fmt::format("{}checkpoint {} and model {} written at step {}",
                  report_.interrupted ? "interrupted: " : "", report_.checkpoint_path, o_.output,
                  state_.step));
}

TrainReport Run::go() {
  check_options();
  const int threads = o_.threads > 0
                          ? o_.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  pool_ = std::make_shared<ThreadPool>(threads);
  if (target_model_) {
    target_p_ = std::make_unique<TargetDistributions>(target_model_, pool_);
    objective_->set_dense_targets(&dense_p_);
  }
  BlasSingleThreaded blas_guard;

  if (!objective_) {
    corpus_ = load(o_.corpus, "corpus");
    sampler_ =
        std::make_unique<WindowSampler>(corpus_.tokens.size(), shape_.ctx_train, settings_.seed);
  } else {
    corpus_.key = set_.info.target_key ^ set_.response_positions();
  }
  if (!o_.valid.empty() && !objective_) {
    valid_ = load(o_.valid, "validation");
    if (valid_.tokens.size() < static_cast<size_t>(shape_.ctx_train) + 1)
      fail("the validation text has {} tokens, fewer than one window of {} (--ctx + 1)",
           valid_.tokens.size(), shape_.ctx_train + 1);
  }
  set_up_weights();
  report_.parameters = shape_.parameter_count();
  report_.tokens_per_step = static_cast<uint64_t>(settings_.batch) *
                            static_cast<uint64_t>(shape_.ctx_train);
  log(fmt::format("model: {:.2f}M parameters ({}); batch {} x {} tokens; {} threads",
                  static_cast<double>(report_.parameters) / 1e6, shape_.describe(), settings_.batch,
                  shape_.ctx_train, threads));
  pass_ = std::make_unique<LlamaTrainingPass<float>>(*layout_, settings_.batch, *pool_);

  run_start_ = Clock::now();
  elapsed_before_ = state_.elapsed_seconds;
  auto last_checkpoint = Clock::now();
  while (!done()) {
    if (events_.stop_requested && events_.stop_requested()) {
      report_.interrupted = true;
      break;
    }
    step();
    const bool last = done();
    const bool eval_due =
        o_.eval_interval > 0 && state_.step % static_cast<uint64_t>(o_.eval_interval) == 0;
    if (!valid_.tokens.empty() && (last || eval_due)) validate();
    if (!last && seconds_since(last_checkpoint) >= o_.checkpoint_minutes * 60.0) {
      save_checkpoint_now();
      last_checkpoint = Clock::now();
      log(fmt::format("checkpoint: {} (step {})", report_.checkpoint_path, state_.step));
    }
  }
  finish();
  return report_;
}

}  // namespace

TrainReport train(const TrainOptions& options, const TrainEvents& events) {
  return Run(options, events).go();
}

}  // namespace aded::train
