// Converters from other model formats to GGUF.
#pragma once

#include <string>

namespace aded {

struct Llama2cCheckpoint {
  int dim = 0, hidden_dim = 0, n_layers = 0, n_heads = 0, n_kv_heads = 0, vocab_size = 0, seq_len = 0;
  bool shared_classifier = true;
};

// Reads and validates the 7-int header of a llama2.c legacy checkpoint (and its size).
Llama2cCheckpoint read_llama2c_header(const std::string& checkpoint_path);

// Writes a GGUF (architecture llama, F32 weights, SentencePiece vocabulary) from a llama2.c legacy
// checkpoint and its tokenizer.bin. Throws InputError naming the file and the problem.
void convert_llama2c(const std::string& checkpoint_path, const std::string& tokenizer_path,
                     const std::string& output_path);

}  // namespace aded
