#include "train/llama_shape.h"

#include <fmt/format.h>

#include "aded/error.h"

namespace aded::train {

uint64_t LlamaShape::parameter_count() const {
  const auto d = static_cast<uint64_t>(dim), f = static_cast<uint64_t>(hidden_dim),
             kv = static_cast<uint64_t>(kv_dim()), v = static_cast<uint64_t>(n_vocab);
  const uint64_t per_layer = 2 * d + d * d * 2 + 2 * d * kv + 3 * d * f;
  return v * d * (tied_output ? 1 : 2) + static_cast<uint64_t>(n_layers) * per_layer + d;
}

void LlamaShape::validate() const {
  auto positive = [](int value, const char* what, int limit) {
    if (value < 1 || value > limit) fail("{} must be between 1 and {}, not {}", what, limit, value);
  };
  positive(dim, "the model dimension (--dim)", 1 << 16);
  positive(n_layers, "the layer count (--layers)", 1024);
  positive(n_heads, "the head count (--heads)", 1024);
  positive(n_kv_heads, "the kv-head count (--kv-heads)", 1024);
  positive(hidden_dim, "the feed-forward size (--hidden)", 1 << 18);
  positive(n_vocab, "the vocabulary size", 1 << 22);
  positive(ctx, "the sequence length (--ctx)", 1 << 16);
  if (dim % n_heads != 0) fail("--heads {} does not divide --dim {}", n_heads, dim);
  if (n_heads % n_kv_heads != 0)
    fail("--kv-heads {} does not divide --heads {}", n_kv_heads, n_heads);
  if (head_dim() % 2 != 0)
    fail("the head size dim/heads = {} must be even (RoPE rotates pairs of dimensions)",
         head_dim());
  if (ctx < 2) fail("the sequence length (--ctx) must be at least 2, not {}", ctx);
}

std::string LlamaShape::describe() const {
  return fmt::format("dim {}, {} layers, {} heads ({} kv), hidden {}, vocab {}, ctx {}, {}", dim,
                     n_layers, n_heads, n_kv_heads, hidden_dim, n_vocab, ctx,
                     tied_output ? "tied output" : "separate output");
}

}  // namespace aded::train
