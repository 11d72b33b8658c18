// Producing model files: random-weight models of real shapes (for tests and timing) and
// re-quantization of an existing GGUF model.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "aded/model.h"

namespace aded {

// Named shapes: tiny, llama-110m, llama-1.1b, qwen2-0.5b. nullopt for an unknown name.
std::optional<ModelConfig> named_model_shape(const std::string& name);
std::string named_model_shapes();  // "tiny, llama-110m, ..." for help and errors

struct RandomModelOptions {
  ModelConfig shape = named_model_shape("tiny").value();  // n_vocab: see vocab_path
  TensorType type = TensorType::F16;  // type of the 2-D weight matrices; norms stay F32
  std::string vocab_path;             // take tokenizer.* metadata (and the vocabulary size) from here
  uint64_t seed = 1;
  std::function<void(size_t done, size_t total)> progress;  // per tensor
};

// Writes a model with random weights that `aded run` loads; returns the bytes written. Throws
// InputError for bad options.
uint64_t write_random_model(const RandomModelOptions& options, const std::string& path);

// The general.file_type code llama.cpp uses for a model whose matrices are of `type`.
uint32_t file_type_code(TensorType type);

struct QuantizeOptions {
  TensorType type = TensorType::Q8_0;
  std::function<void(const std::string& tensor, size_t index, size_t total)> progress;
};

// What quantize_model did with the weight matrices.
struct QuantizeReport {
  std::vector<std::string> converted;  // re-encoded as the type
  std::vector<std::string> unchanged;  // already of the type
  // Kept their type because their rows are not a multiple of the type's block (e.g. 288-wide
  // rows and Q4_K's 256-element blocks): name, type, row length.
  struct Kept {
    std::string name;
    TensorType type;
    int64_t row_length;
  };
  std::vector<Kept> kept;
  uint64_t bytes_written = 0;  // the size of the output file

  // "quantized 150 of 155 weight matrices to Q4_K; 5 kept their type (rows not a multiple of
  // 256): token_embd.weight (F32, rows of 288), ..."
  std::string summary(TensorType type) const;
};

// Re-encodes every 2-D weight matrix of `in` as options.type (rows whose length is not a multiple
// of the type's block size keep their type, and the report lists them); other tensors and all
// metadata are copied. Refuses, before the work, an output that is the input itself; throws
// InputError, writing nothing, when no matrix can take the type.
QuantizeReport quantize_model(const std::string& in, const std::string& out,
                              const QuantizeOptions& options);

// What repack_model did with the weight matrices.
struct RepackReport {
  std::vector<std::string> packed;   // now stored in the kernels' layout
  std::vector<std::string> already;  // the input stored them packed
  struct Kept {                      // types without a packed layout (k-quants, Q4_1, ...)
    std::string name;
    TensorType type;
  };
  std::vector<Kept> kept;
  uint64_t bytes_written = 0;

  // "packed 154 of 155 weight matrices; 1 kept its layout (no packed form): output.weight (Q6_K)"
  std::string summary() const;
};

// Writes `in` with its weight matrices (all but the token embedding) in the layout the SIMD
// kernels read (src/core/kernels/packing.h), so that loading maps them instead of packing a copy:
// startup without the copy, memory shared with the page cache. Types, values and metadata are
// kept; only aded reads the result (other readers refuse its packed type ids). Refuses, before
// writing, a model whose fused matrices split inside a group of 16 rows.
RepackReport repack_model(const std::string& in, const std::string& out,
                          std::function<void(const std::string& tensor, size_t index, size_t total)> progress = {});

}  // namespace aded
