// Starting weights from a GGUF model (aded train --init): a Llama model of the shape the trainer
// makes (its RoPE layout, norm epsilon and RoPE base, no biases), any tensor type the engine
// reads, dequantized to float into the trainer's layout (model_export.h writes it back).
#pragma once

#include <span>

#include "aded/model.h"
#include "train/parameter_layout.h"

namespace aded::train {

// The trainer's shape for the model; throws InputError naming `path` and what the trainer cannot
// train (another architecture, biases, another RoPE layout, base or epsilon).
ModelConfig trainable_shape(const Model& model, const std::string& path);

// The model's weights in `layout` (made from trainable_shape, the context length may differ).
void import_parameters(const Model& model, const ParameterLayout& layout, std::span<float> params);

}  // namespace aded::train
