// Writes trained weights as a GGUF model that `aded run` (and llama.cpp) loads: architecture
// llama, F32 weights with the tensor names and [cols, rows] dims of model_tensors.h,
// the output tied to the token embedding unless the shape says otherwise, and the tokenizer
// metadata copied from the vocabulary GGUF.
#pragma once

#include <span>
#include <string>

#include "aded/gguf.h"
#include "train/parameter_layout.h"

namespace aded::train {

void export_model(const std::string& path, const ParameterLayout& layout,
                  std::span<const float> params, const GgufFile& vocab, const std::string& name);

}  // namespace aded::train
