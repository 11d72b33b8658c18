// The settings of a training run that a checkpoint remembers, and the state it resumes from.
#pragma once

#include <cstdint>

namespace aded::train {

struct TrainSettings {
  int batch = 16;    // sequences per step
  float lr = 8e-4f;  // peak learning rate
  int64_t warmup_steps = 30;
  // Length: total steps, or a wall-clock budget in minutes (the cosine then follows the clock);
  // with both, whichever comes first.
  int64_t steps = 0;
  double minutes = 0;
  float min_lr_fraction = 0.1f;
  float weight_decay = 0.1f;
  float beta1 = 0.9f;
  float beta2 = 0.95f;
  float grad_clip = 1.0f;  // global gradient norm limit (0: no clipping)
  uint64_t seed = 1;       // initial weights and batch windows
};

struct TrainState {
  uint64_t step = 0;           // steps done
  double elapsed_seconds = 0;  // training time so far (what a --minutes budget counts)
  uint64_t tokens_seen = 0;
  uint64_t corpus_key = 0;  // which token stream the steps were sampled from
};

}  // namespace aded::train
