// The KV cache: keys and values of every layer for each cell of the context, F32, laid out
// [layer][cell][kv_dim]. Cell c holds the token at position c of the committed sequence, or a
// token of the last batch (cell n_past + i for batch token i) until the batch is committed.
#pragma once

#include <cstddef>
#include <vector>

namespace aded {

class KvCache {
 public:
  KvCache(size_t n_layers, size_t n_cells, size_t kv_dim)
      : n_layers_(n_layers), n_cells_(n_cells), kv_dim_(kv_dim),
        k_(n_layers * n_cells * kv_dim, 0.0f), v_(n_layers * n_cells * kv_dim, 0.0f) {}

  // The kv_dim keys (values) of a cell in a layer; the cells of a layer follow each other.
  float* keys(size_t layer, size_t cell) { return k_.data() + offset(layer, cell); }
  float* values(size_t layer, size_t cell) { return v_.data() + offset(layer, cell); }
  const float* keys(size_t layer, size_t cell) const { return k_.data() + offset(layer, cell); }
  const float* values(size_t layer, size_t cell) const { return v_.data() + offset(layer, cell); }
  size_t kv_dim() const { return kv_dim_; }

  // Copies cell `from` to cell `to` in every layer.
  void copy_cell(size_t from, size_t to);

 private:
  size_t offset(size_t layer, size_t cell) const { return (layer * n_cells_ + cell) * kv_dim_; }
  size_t n_layers_, n_cells_, kv_dim_;
  std::vector<float> k_, v_;
};

}  // namespace aded
