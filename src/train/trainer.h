// `aded train`: pretrains a small Llama model on text files with AdamW, and writes a GGUF model
// that `aded run` loads. Tokenizes (or reads the cached tokens of) the corpus, samples random
// windows, validates periodically, checkpoints every few minutes and when asked to stop, and
// resumes from a checkpoint to bitwise the same weights as an uninterrupted run.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "aded/model.h"
#include "train/distill_losses.h"
#include "train/llama_training_pass.h"
#include "train/token_corpus.h"
#include "train/train_settings.h"

namespace aded::train {

struct TrainOptions {
  std::string output;  // GGUF model written at the end (and when interrupted)
  std::string vocab;   // vocabulary GGUF (tokenizer.ggml.*); decides n_vocab
  std::vector<std::string> corpus;
  std::vector<std::string> valid;  // validation text (optional)
  // A llama model; n_vocab is replaced by the vocabulary's size, and what follows from the
  // other numbers is set again (ModelConfig::fill_conventions). The default is code15M's shape.
  ModelConfig shape =
      ModelConfig::new_model(Architecture::Llama, 288, 6, 6, 6, 768, 32000, 256, true);
  TrainSettings settings;
  int threads = 0;                // 0: all cores
  std::string resume;             // checkpoint to continue from
  std::string checkpoint;         // checkpoint path; empty: output + ".ckpt" (a regular -o only)
  std::string token_cache_dir;    // empty: the output's directory (none if -o is a device)
  double checkpoint_minutes = 5;  // between periodic checkpoints
  int64_t eval_interval = 100;    // steps between validation runs (0: only at the end)
  int eval_batches = 8;           // validation batches of settings.batch windows each

  // Distillation (docs/distillation.md): with `distill` set, the model of `init` is fine-tuned on
  // a distillation set with `loss` over its response positions instead of pretrained on text
  // (corpus, vocab and shape are then unused: the shape and vocabulary are init's).
  std::string distill;         // distillation set (aded distill-data)
  std::string init;            // GGUF model to start from
  std::string distill_target;  // optional: the target GGUF, checked against the set's
  // Score against the target's whole distribution, recomputed by running distill_target over
  // each batch's records, instead of the set's stored top k (slower: a target forward per record).
  bool distill_recompute = false;
  DistillLoss loss = DistillLoss::Fkl;
  AdvantageNorm advantage_norm = AdvantageNorm::Batch;  // the TVD++ reading
  int distill_window = 0;  // tokens per training sequence; 0: the init model's context
  bool distilling() const { return !distill.empty(); }
};

struct TrainProgress {
  uint64_t step = 0;         // steps done
  uint64_t total_steps = 0;  // 0 when the run is limited by time
  double loss = 0;
  float lr = 0;
  double grad_norm = 0;
  double tokens_per_second = 0;  // over the last few steps
  double gflops = 0;             // model FLOPs: 6 x parameters x tokens per second
  double elapsed_seconds = 0;
  double eta_seconds = 0;
  double acceptance = -1;  // distillation: mean sum min(p, q) over the step's positions
};

struct TrainEvents {
  std::function<void(const std::string&)> log;
  std::function<void(const TokenizeProgress&)> tokenize_progress;
  std::function<void(const TrainProgress&)> step;
  std::function<void(uint64_t step, double valid_loss)> validation;
  std::function<bool()> stop_requested;  // checked between steps; true: checkpoint and return
};

struct TrainReport {
  uint64_t steps = 0;  // steps done in total (including before a resume)
  uint64_t steps_this_run = 0;
  uint64_t parameters = 0;
  uint64_t tokens_per_step = 0;  // batch x sequence length (the distillation window)
  double last_loss = 0;
  double valid_loss = -1;  // the last validation loss (-1: none)
  bool interrupted = false;
  PassTimes pass_times;          // this run's forward / output / backward seconds
  double optimizer_seconds = 0;  // gradient norm, clipping and AdamW
  double data_seconds = 0;       // batch sampling and gradient zeroing
  double train_seconds = 0;      // wall time of the steps (without validation and checkpoints)
  double cpu_seconds = 0;        // CPU time of all threads during the steps (busy machine: < 2x)
  std::string checkpoint_path;
};

// Throws InputError for bad options or input files, Error for I/O failures.
TrainReport train(const TrainOptions& options, const TrainEvents& events = {});

}  // namespace aded::train
