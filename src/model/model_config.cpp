// ModelConfig's conventions and checks, and the architectures by name.
#include <fmt/format.h>

#include <cmath>

#include "aded/error.h"
#include "aded/model.h"

namespace aded {

std::string_view architecture_name(Architecture arch) {
  switch (arch) {
    case Architecture::Llama: return "llama";
    case Architecture::Qwen2: return "qwen2";
    case Architecture::Phi3: return "phi3";
    case Architecture::Qwen3: return "qwen3";
    case Architecture::Gemma2: return "gemma2";
    case Architecture::Granite: return "granite";
    case Architecture::Olmo2: return "olmo2";
    case Architecture::Starcoder2: return "starcoder2";
  }
  return "unknown";
}

std::optional<Architecture> architecture_from_name(std::string_view name) {
  for (const Architecture arch : {Architecture::Llama, Architecture::Qwen2, Architecture::Phi3, Architecture::Qwen3,
                                    Architecture::Gemma2, Architecture::Granite, Architecture::Olmo2,
                                    Architecture::Starcoder2})
    if (architecture_name(arch) == name) return arch;
  return std::nullopt;
}

ModelConfig ModelConfig::new_model(Architecture arch, int dim, int n_layers, int n_heads,
                                   int n_kv_heads, int hidden_dim, int n_vocab, int ctx_train,
                                   bool tied_output) {
  ModelConfig c;
  c.arch = arch;
  c.dim = dim;
  c.n_layers = n_layers;
  c.n_heads = n_heads;
  c.n_kv_heads = n_kv_heads;
  c.hidden_dim = hidden_dim;
  c.n_vocab = n_vocab;
  c.ctx_train = ctx_train;
  c.tied_output = tied_output;
  c.fill_conventions();
  return c;
}

void ModelConfig::fill_conventions() {
  const bool eps6 = arch == Architecture::Qwen2 || arch == Architecture::Qwen3 || arch == Architecture::Gemma2 ||
                    arch == Architecture::Olmo2;
  arch_name = std::string(architecture_name(arch));
  head_dim = n_heads > 0 ? dim / n_heads : 0;
  rope_dim = head_dim;
  rope_layout = arch == Architecture::Llama || arch == Architecture::Granite ? RopeLayout::Adjacent : RopeLayout::HalfSplit;
  norm_eps = eps6 ? 1e-6f : 1e-5f;
  if (gemma2()) {  // Gemma 2's published values (llama.cpp assumes them for files without the keys)
    attn_softcap = 50.0f;
    final_softcap = 30.0f;
    sliding_window = 4096;
  }
  qkv_bias = arch == Architecture::Qwen2 || arch == Architecture::Starcoder2;
}

void ModelConfig::validate() const {
  auto in_range = [](int value, const char* what, int limit) {
    if (value < 1 || value > limit) fail("{} must be between 1 and {}, not {}", what, limit, value);
  };
  in_range(dim, "the model dimension", 1 << 16);
  in_range(n_layers, "the layer count", 1024);
  in_range(n_heads, "the head count", 1024);
  in_range(n_kv_heads, "the kv-head count", 1024);
  in_range(hidden_dim, "the feed-forward size", 1 << 18);
  in_range(n_vocab, "the vocabulary size", 1 << 22);
  in_range(ctx_train, "the context length", 1 << 22);
  // Heads are dim / n_heads by convention; Qwen3's files set their own size.
  const bool own_head_size = arch == Architecture::Qwen3 || arch == Architecture::Gemma2;
  if (dim % n_heads != 0 && !own_head_size)
    fail("the head count {} does not divide the model dimension {}", n_heads, dim);
  if (n_heads % n_kv_heads != 0)
    fail("the kv-head count {} does not divide the head count {}", n_kv_heads, n_heads);
  in_range(head_dim, "the head size", 1 << 16);
  if (!own_head_size && head_dim != dim / n_heads)
    fail("the head size {} is not dim / heads = {} (fill_conventions sets it)", head_dim, dim / n_heads);
  if (head_dim % 2 != 0)
    fail("the head size dim / heads = {} must be even (RoPE rotates pairs of dimensions)",
         head_dim);
  if (rope_dim < 2 || rope_dim > head_dim || rope_dim % 2 != 0)
    fail("RoPE over {} dimensions does not fit the head size {}", rope_dim, head_dim);
  if (!(norm_eps > 0 && norm_eps < 1)) fail("the RMSNorm epsilon {} is out of range", norm_eps);
  if (!(attn_softcap >= 0 && attn_softcap < 1e4) || !(final_softcap >= 0 && final_softcap < 1e4))
    fail("the soft-capping values {} and {} are out of range (0 to 10000)", attn_softcap, final_softcap);
  for (const float scale : {attn_scale, embedding_scale, residual_scale, logit_scale})
    if (!(scale >= 0 && scale < 1e6)) fail("the scale {} is out of range (0 to 1e6)", scale);
  if (embedding_scale == 0 || residual_scale == 0 || logit_scale == 0)
    fail("the embedding, residual and logit scales must not be 0");
  if (rope_yarn && (rope_orig_ctx < 1 || !(rope_scale >= 1)))
    fail("YaRN needs the context it extends (not {}) and a factor of at least 1 (not {})", rope_orig_ctx, rope_scale);
  if (!(rope_base > 1) || !std::isfinite(rope_base))
    fail("the RoPE base {} is out of range (a finite number > 1)", rope_base);
}

uint64_t ModelConfig::parameter_count() const {
  const auto d = static_cast<uint64_t>(dim), f = static_cast<uint64_t>(hidden_dim),
             q = static_cast<uint64_t>(q_dim()), kv = static_cast<uint64_t>(kv_dim()),
             v = static_cast<uint64_t>(n_vocab);
  const uint64_t norm = layer_norm() ? 2 * d : d;  // weight (and LayerNorm's bias)
  const uint64_t norms = pre_norms() ? 2 * norm : 0, attention = 2 * d * q + 2 * d * kv,
                 ffn = (gated_ffn() ? 3 : 2) * d * f,
                 biases = (qkv_bias ? q + 2 * kv : 0) + (block_biases() ? 2 * d + f : 0),
                 head_norms = qk_norm() ? 2 * static_cast<uint64_t>(head_dim) : qk_norm_whole() ? q + kv : 0,
                 output_norms = post_norms() ? 2 * d : 0;
  return v * d * (tied_output ? 1 : 2) +
         static_cast<uint64_t>(n_layers) * (norms + attention + ffn + biases + head_norms + output_norms) + norm;
}

std::string ModelConfig::describe() const {
  return fmt::format("dim {}, {} layers, {} heads ({} kv), hidden {}, vocab {}, ctx {}, {}", dim,
                     n_layers, n_heads, n_kv_heads, hidden_dim, n_vocab, ctx_train,
                     tied_output ? "tied output" : "separate output");
}

}  // namespace aded
