// Training checkpoints: weights, AdamW moments, the step and the run's settings, in a GGUF file
// (metadata aded.checkpoint.* / aded.train.*, tensors "params", "adam.m", "adam.v" in the flat
// ParameterLayout order) with a checksum over the tensors. Resuming from one gives bitwise the
// same weights as a run that was never interrupted.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "aded/gguf.h"
#include "aded/model.h"
#include "train/train_settings.h"

namespace aded::train {

struct Checkpoint {
  ModelConfig shape;
  TrainSettings settings;
  TrainState state;
  std::vector<float> params, adam_m, adam_v;
};

// Written through a temporary file renamed at the end, so an interruption never leaves half a file.
void save_checkpoint(const std::string& path, const ModelConfig& shape,
                     const TrainSettings& settings, const TrainState& state,
                     std::span<const float> params, std::span<const float> adam_m,
                     std::span<const float> adam_v);

// Throws InputError for a missing file, a file that is not a checkpoint, or a damaged one: a
// checksum that does not match, a value out of range (counts, non-finite settings), weights or
// moments that are not finite, negative second moments.
Checkpoint load_checkpoint(const std::string& path);
Checkpoint load_checkpoint(const GgufFile& file);

// Throws InputError (naming path) unless a run of `shape` can resume from c.
void check_resumable(const Checkpoint& c, const ModelConfig& shape, const std::string& path);

}  // namespace aded::train
