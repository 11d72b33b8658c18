// Converters from other model formats to GGUF.
#pragma once

#include <string>

#include "aded/model.h"

namespace aded {

// The model a llama2.c legacy checkpoint holds, from its 7-int header (checked, and checked
// against the file's size); a negative vocab_size there means an output matrix of its own.
ModelConfig read_llama2c_header(const std::string& checkpoint_path);

// Writes a GGUF (architecture llama, F32 weights, SentencePiece vocabulary) from a llama2.c legacy
// checkpoint and its tokenizer.bin; returns the bytes written. Throws InputError naming the file
// and the problem (an output that is one of the inputs is refused before anything is read).
uint64_t convert_llama2c(const std::string& checkpoint_path, const std::string& tokenizer_path,
                         const std::string& output_path);

}  // namespace aded
