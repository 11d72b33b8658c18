// The general.* and <arch>.* metadata of a Llama-family model: the keys, and a ModelConfig read
// from them or written as them, in one place so that the loader and every writer agree.
#pragma once

#include <string_view>

#include "aded/gguf.h"
#include "aded/model.h"
#include "gguf/gguf_keys.h"

namespace aded {

// All of the configuration but n_vocab and tied_output, which the tensors decide; what the
// metadata leaves out follows ModelConfig's conventions. Throws InputError naming the file and
// the key.
ModelConfig read_model_config(const GgufFile& file);

// general.architecture, general.name, general.file_type (the code for matrices of file_type)
// and the <arch>.* keys that read_model_config reads back as `config`.
void write_model_config(GgufWriter& writer, const ModelConfig& config, std::string_view name,
                        TensorType file_type);

}  // namespace aded
