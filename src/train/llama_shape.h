// The shape of a Llama model the trainer builds: the numbers that decide every tensor's size.
#pragma once

#include <cstdint>
#include <string>

namespace aded::train {

// Fixed hyperparameters of the architecture (llama2.c's): RMSNorm epsilon and RoPE base.
constexpr float kNormEps = 1e-5f;
constexpr float kRopeBase = 10000.0f;

struct LlamaShape {
  int dim = 288;
  int n_layers = 6;
  int n_heads = 6;
  int n_kv_heads = 6;
  int hidden_dim = 768;
  int n_vocab = 32000;
  int ctx = 256;  // training sequence length (and the exported model's context length)
  bool tied_output = true;

  int head_dim() const { return dim / n_heads; }
  int kv_dim() const { return n_kv_heads * head_dim(); }
  // Width of the fused q|k|v projection output.
  int qkv_dim() const { return dim + 2 * kv_dim(); }
  // Learnable parameters (a tied output matrix counts once).
  uint64_t parameter_count() const;
  // Throws InputError naming the first impossible value.
  void validate() const;
  // "dim 288, 6 layers, 6 heads (6 kv), hidden 768, vocab 32000, ctx 256, tied"
  std::string describe() const;

  bool operator==(const LlamaShape&) const = default;
};

}  // namespace aded::train
