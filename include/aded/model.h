// A Llama-family model loaded from GGUF: configuration from metadata, weights as zero-copy views
// into the mapped file, and its tokenizer.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aded/gguf.h"
#include "aded/tensor_type.h"
#include "aded/tokenizer.h"

namespace aded {

enum class Architecture { Llama, Qwen2, Phi3, Qwen3, Gemma2, Granite, Olmo2, Starcoder2 };
// "llama", "qwen2", "phi3", "qwen3", "gemma2", "granite", "olmo2", "starcoder2": general.architecture, and the
// prefix of its metadata keys.
std::string_view architecture_name(Architecture arch);
// nullopt for an architecture this engine does not run.
std::optional<Architecture> architecture_from_name(std::string_view name);

// Which dimensions RoPE rotates together: (2i, 2i+1) as ggml's "norm" mode and llama2.c do, or
// (i, i + d/2) as ggml's "neox" mode (Qwen2, and HF-layout Llama).
enum class RopeLayout { Adjacent, HalfSplit };

// The shape and hyperparameters of a model: the one description every part uses. A loaded model
// gets it from its GGUF metadata and tensors; a model aded makes (random, converted or trained)
// starts from ModelConfig::new_model.
struct ModelConfig {
  Architecture arch = Architecture::Llama;
  std::string arch_name;
  int n_vocab = 0;
  int dim = 0;
  int n_layers = 0;
  int n_heads = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  int hidden_dim = 0;
  int ctx_train = 0;
  float norm_eps = 1e-5f;
  float rope_base = 10000.0f;
  float rope_scale = 1.0f;  // linear position scaling: positions are divided by this
  // YaRN (rope.scaling.type = yarn; Qwen2 and others beyond their trained context): rope_scale is
  // its factor and rope_orig_ctx the context it extends; fast-turning pairs keep their angles,
  // slow ones are interpolated, with a ramp between, and cos/sin grow by 1 + 0.1 ln(factor).
  bool rope_yarn = false;
  int rope_dim = 0;         // leading dimensions of each head that RoPE rotates
  RopeLayout rope_layout = RopeLayout::Adjacent;
  bool qkv_bias = false;
  bool tied_output = false;
  // A query sees only the keys fewer than this many positions back (0: all of them).
  int sliding_window = 0;
  // cos and sin are scaled by this (LongRoPE, Phi-3.5); the context RoPE was trained at before its
  // extension (LongRoPE: beyond it the file's long frequency factors apply, else the short ones;
  // YaRN: the context its ramp is computed for).
  float rope_attn_factor = 1.0f;
  int rope_orig_ctx = 0;
  // Gemma 2: attention scores and final logits pass through cap * tanh(x / cap) (0: not capped).
  float attn_softcap = 0;
  float final_softcap = 0;
  // Scores are q.k times this instead of 1 / sqrt(head_dim) (0) (Granite; Gemma-2-27B).
  float attn_scale = 0;
  // Granite: the embedding, each block's output before its residual add and the logits are
  // multiplied by these (logits divided by logit_scale).
  float embedding_scale = 1.0f;
  float residual_scale = 1.0f;
  float logit_scale = 1.0f;

  int q_dim() const { return n_heads * head_dim; }
  int kv_dim() const { return n_kv_heads * head_dim; }
  // Width of the fused q|k|v projection (the trainer's layout).
  int qkv_dim() const { return q_dim() + 2 * kv_dim(); }
  // Phi-3 stores q|k|v as one matrix and gate|up as one (its "ffn_up").
  bool fused_projections() const { return arch == Architecture::Phi3; }
  // Qwen3 normalizes each query and key head (RMSNorm over the head, one weight vector per layer
  // for all query heads and one for all key heads) before RoPE.
  bool qk_norm() const { return arch == Architecture::Qwen3; }
  // Gemma 2: the embedding scaled by sqrt(dim), RMSNorm of each block's output before its
  // residual add, and GELU (tanh form) instead of SiLU gating the feed-forward block.
  bool gemma2() const { return arch == Architecture::Gemma2; }
  // OLMo 2: no norm before the blocks; RMSNorm of the whole q and k projections (all heads at
  // once) before RoPE, and of each block's output before its residual add.
  bool pre_norms() const { return arch != Architecture::Olmo2; }
  bool qk_norm_whole() const { return arch == Architecture::Olmo2; }
  bool post_norms() const { return gemma2() || arch == Architecture::Olmo2; }
  // StarCoder2: LayerNorm (mean removed, then weight and bias) where the others use RMSNorm; a
  // feed-forward block of one GELU (tanh form) between two matrices, no gate; biases on every
  // projection (with qkv_bias).
  bool layer_norm() const { return arch == Architecture::Starcoder2; }
  bool gated_ffn() const { return arch != Architecture::Starcoder2; }
  bool block_biases() const { return arch == Architecture::Starcoder2; }
  // Whether a layer's queries see only the keys of the last sliding_window positions: every
  // layer of a windowed Phi-3, the even layers of Gemma 2 (the odd ones see all).
  bool sliding_layer(int layer) const { return sliding_window > 0 && (!gemma2() || layer % 2 == 0); }

  // A model aded makes, of this shape; the rest by convention (fill_conventions).
  static ModelConfig new_model(Architecture arch, int dim, int n_layers, int n_heads,
                               int n_kv_heads, int hidden_dim, int n_vocab, int ctx_train,
                               bool tied_output);
  // Sets what follows from arch, dim and n_heads in a model that does not say otherwise:
  // arch_name, head_dim = dim / n_heads, RoPE over whole heads in the architecture's layout, its
  // RMSNorm epsilon and q/k/v biases. Call it again after changing those fields.
  void fill_conventions();
  // Throws InputError naming the first value a model aded makes cannot have (models it loads
  // are checked against their file instead).
  void validate() const;
  // Learnable parameters (a tied output matrix counts once).
  uint64_t parameter_count() const;
  // "dim 288, 6 layers, 6 heads (6 kv), hidden 768, vocab 32000, ctx 256, tied output"
  std::string describe() const;

  bool operator==(const ModelConfig&) const = default;
};

// A weight matrix: `rows` output features of `cols` inputs each, stored row after row.
struct Matrix {
  std::string name;
  TensorType type = TensorType::F32;
  // The rows in the file's layout; nullptr for a matrix its file stores packed (aded repack) until
  // a context whose kernels read rows (the scalar table) makes Model::unpack_weights run.
  const uint8_t* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  size_t row_bytes = 0;
  // The same weights in the SIMD kernels' layout (set by Model::pack_weights), or nullptr.
  const uint8_t* packed = nullptr;
};

struct LayerWeights {
  std::vector<float> attn_norm;  // empty without pre_norms()
  std::vector<float> attn_norm_b, ffn_norm_b;  // LayerNorm biases, empty unless config.layer_norm()
  std::vector<float> bo, b_up, b_down;         // empty unless config.block_biases()
  Matrix wq, wk, wv, wo;
  std::vector<float> bq, bk, bv;  // empty unless config.qkv_bias
  std::vector<float> q_norm, k_norm;  // [head_dim] with qk_norm(), [q_dim], [kv_dim] with qk_norm_whole()
  std::vector<float> attn_post_norm, ffn_post_norm;  // empty unless config.post_norms()
  std::vector<float> ffn_norm;
  Matrix w_gate, w_up, w_down;  // w_gate empty (no rows) without gated_ffn()
};

class Model {
 public:
  // Loads and validates a GGUF model; throws InputError naming the file and the problem.
  static std::shared_ptr<const Model> load(const std::string& path);
  static std::shared_ptr<const Model> from_gguf(GgufFile file);

  const ModelConfig& config() const { return config_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  const GgufFile& gguf() const { return file_; }
  // The type most weights have (what `aded info` and the bench report).
  TensorType main_type() const;
  // Bytes of weights read for one token of decoding (all matrices but the embedding table).
  uint64_t weight_bytes_per_token() const;
  uint64_t parameter_count() const;

  const Matrix& token_embedding() const { return token_embd_; }
  const Matrix& output() const { return output_; }
  const std::vector<float>& output_norm() const { return output_norm_; }
  const std::vector<float>& output_norm_bias() const { return output_norm_b_; }  // empty without layer_norm()
  const std::vector<LayerWeights>& layers() const { return layers_; }
  // Per-dimension RoPE frequency divisors from a rope_freqs tensor (Llama 3.1), or empty.
  const std::vector<float>& rope_freq_factors() const { return rope_freqs_; }
  // The divisors a context of n_ctx cells uses: rope_freqs, or LongRoPE's long factors beyond the
  // original context and its short ones within it (Phi-3.5), or empty.
  const std::vector<float>& rope_freq_factors(int64_t n_ctx) const;

  // Lays the matrices out once for the SIMD kernels (contexts call it; thread-safe, idempotent).
  // Costs a copy of the weights in memory; the embedding table stays in the file's mapping.
  // Matrices a file stores packed are used where they are mapped (checked for non-finite values
  // on the first call).
  void pack_weights() const;
  // The inverse for kernels that read rows (the scalar table): matrices a file stores packed get
  // a row-major copy. Does nothing for a file that stores rows. Thread-safe, idempotent.
  void unpack_weights() const;
  // Whether the file stores matrices packed (written by aded repack).
  bool file_is_packed() const;
  // Seconds pack_weights spent packing copies (0 until it ran, and for a file stored packed).
  double packing_seconds() const;
  // Bytes held by packed copies of the weights.
  uint64_t packed_bytes() const;

 private:
  Model() = default;
  GgufFile file_;
  ModelConfig config_;
  std::unique_ptr<Tokenizer> tokenizer_;
  Matrix token_embd_, output_;
  std::vector<float> output_norm_;
  std::vector<float> output_norm_b_;
  std::vector<LayerWeights> layers_;
  std::vector<float> rope_freqs_, rope_factors_long_, rope_factors_short_;
  struct Packed;
  static std::shared_ptr<Packed> new_packed_state();
  std::shared_ptr<Packed> packed_;
  friend class ModelLoader;
};

}  // namespace aded
