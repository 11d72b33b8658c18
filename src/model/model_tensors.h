// The tensors of a Llama-family model in GGUF: their names (llama.cpp's) and their dims for a
// configuration, in one table that the loader, every writer and the trainer ask.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "aded/model.h"

namespace aded {

enum class TensorKind {
  // One per model.
  TokenEmbedding,
  OutputNorm,
  Output,
  RopeFreqs,
  RopeFactorsLong,   // LongRoPE's divisors beyond the original context (Phi-3.5)
  RopeFactorsShort,  // and within it
  // One per layer: "blk.N." + the name.
  AttnNorm,
  AttnQ,
  AttnK,
  AttnV,
  AttnQBias,
  AttnKBias,
  AttnVBias,
  AttnQNorm,  // Qwen3: RMSNorm weights of each query head
  AttnKNorm,  // and of each key head
  AttnQNormWhole,  // OLMo 2: RMSNorm weights of the whole q projection
  AttnKNormWhole,  // and of the whole k projection
  AttnOutput,
  AttnPostNorm,  // Gemma 2: RMSNorm of the attention block's output
  FfnNorm,
  FfnGate,
  FfnUp,
  FfnDown,
  FfnPostNorm,  // Gemma 2: RMSNorm of the feed-forward block's output
  // StarCoder2's LayerNorm biases and projection biases.
  OutputNormBias,
  AttnNormBias,
  AttnOutputBias,
  FfnNormBias,
  FfnUpBias,
  FfnDownBias,
  // Fused per-layer forms: Phi-3's files and the trainer's weights.
  AttnQkv,        // rows of q, then k, then v
  FfnUpWithGate,  // Phi-3's "ffn_up": rows of gate, then up
  FfnGateUp,      // the trainer's rows of gate, then up (never in a model file)
};

// The per-layer tensors a file of this configuration holds, in the order aded writes them.
std::vector<TensorKind> layer_tensor_kinds(const ModelConfig& config);

// True for the kinds that exist once per layer.
bool is_layer_tensor(TensorKind kind);

// "token_embd.weight" (layer -1), "blk.3.attn_q.weight" (layer 3). Throws std::logic_error for
// a per-layer kind without a layer, or a layer given to a kind of the whole model.
std::string tensor_name(TensorKind kind, int layer = -1);

// The tensor's dims in ggml order for a model of this configuration: {cols, rows} for a matrix
// (each of the rows output features reads cols inputs), {n} for a vector.
std::vector<int64_t> tensor_dims(TensorKind kind, const ModelConfig& config);

}  // namespace aded
