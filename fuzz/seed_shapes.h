// What the seeds of aded_fuzz_seeds (make_seeds.cpp) are written for and the fuzz targets expect,
// in one place: the token cache's key and vocabulary, the training checkpoints' model.
#pragma once

#include <cstdint>

#include "aded/model.h"

namespace aded::fuzz {

inline constexpr uint64_t kTokenCacheKey = 0x5EEDC0DE5EEDC0DEull;
inline constexpr int32_t kTokenCacheVocab = 1000;

inline ModelConfig checkpoint_shape() {
  return ModelConfig::new_model(Architecture::Llama, 8, 1, 2, 1, 16, 12, 8, true);
}

}  // namespace aded::fuzz
