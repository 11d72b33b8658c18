// The sizes the forward pass indexes with, as size_t, computed once from the ModelConfig (whose
// fields are int, as the file format stores them).
#pragma once

#include <cstddef>
#include <cstdint>

#include "aded/model.h"

namespace aded {

struct ModelDims {
  explicit ModelDims(const ModelConfig& c)
      : dim(to_size(c.dim)),
        q_dim(to_size(c.q_dim())),
        kv_dim(to_size(c.kv_dim())),
        hidden(to_size(c.hidden_dim)),
        head_dim(to_size(c.head_dim)),
        n_heads(to_size(c.n_heads)),
        n_kv_heads(to_size(c.n_kv_heads)),
        group(to_size(c.n_heads / c.n_kv_heads)),
        n_layers(to_size(c.n_layers)),
        rope_pairs(to_size(c.rope_dim / 2)),
        n_vocab(to_size(c.n_vocab)),
        whole_row_qk_norm(c.qk_norm_whole()) {}

  size_t dim;         // the residual stream
  size_t q_dim;       // n_heads * head_dim
  size_t kv_dim;      // n_kv_heads * head_dim
  size_t hidden;      // hidden units of the feed-forward block
  size_t head_dim;
  size_t n_heads;
  size_t n_kv_heads;
  size_t group;       // query heads per kv head
  size_t n_layers;
  size_t rope_pairs;  // rotated pairs per head: rope_dim / 2 (a position's cos/sin row)
  size_t n_vocab;
  bool whole_row_qk_norm;  // q and k are normalized across all heads (a team splits tokens, not heads)

  // Multiply-adds of one layer's matrix products for one token.
  uint64_t layer_macs() const { return dim * (q_dim + 2 * kv_dim) + q_dim * dim + 3 * dim * hidden; }

 private:
  static size_t to_size(int v) { return static_cast<size_t>(v); }
};

}  // namespace aded
