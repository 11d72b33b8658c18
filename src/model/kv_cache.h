// The KV cache: keys and values of every layer for each cell of the context, F32, laid out
// [layer][cell][kv_dim]. Cell c holds the token at position c of the committed sequence, or a
// token of the last batch (cell n_past + i for batch token i) until the batch is committed.
//
// Its memory is mapped, not filled: pages are zero until first written, and take physical memory
// only then, so a context sized for the model's whole training window costs what the text in it
// uses (a zero-filled vector made a 32k context of a 1.1B model write 1.5 GB at startup).
#pragma once

#include <cstddef>
#include <memory>

namespace aded {

class KvCache {
 public:
  // Throws std::bad_alloc when the address space cannot be reserved.
  KvCache(size_t n_layers, size_t n_cells, size_t kv_dim);

  // The kv_dim keys (values) of a cell in a layer; the cells of a layer follow each other.
  float* keys(size_t layer, size_t cell) { return k_.get() + offset(layer, cell); }
  float* values(size_t layer, size_t cell) { return v_.get() + offset(layer, cell); }
  const float* keys(size_t layer, size_t cell) const { return k_.get() + offset(layer, cell); }
  const float* values(size_t layer, size_t cell) const { return v_.get() + offset(layer, cell); }
  size_t kv_dim() const { return kv_dim_; }
  // Bytes of keys and values together (reserved; resident only where written).
  size_t bytes() const { return 2 * floats_ * sizeof(float); }

  // Copies cell `from` to cell `to` in every layer.
  void copy_cell(size_t from, size_t to);

 private:
  struct Unmap {
    size_t bytes;
    void operator()(float* p) const;
  };
  using Region = std::unique_ptr<float, Unmap>;
  static Region map(size_t floats);
  size_t offset(size_t layer, size_t cell) const { return (layer * n_cells_ + cell) * kv_dim_; }
  size_t n_layers_, n_cells_, kv_dim_, floats_;
  Region k_, v_;
};

}  // namespace aded
