// The KV cache: keys and values of every layer for each cell of the context, laid out
// [layer][cell][kv_dim], each in its type (F32; F16 at half the memory and bandwidth; Q8_0, the
// GGUF blocks of 32 elements, at 34/128 of F32's, for heads of a multiple of 32 elements). Cell c
// holds the token at position c of the committed sequence, or a token of the last batch (cell
// n_past + i for batch token i) until the batch is committed.
//
// Its memory is mapped, not filled: pages are zero until first written, and take physical memory
// only then, so a context sized for the model's whole training window costs what the text in it
// uses (a zero-filled vector made a 32k context of a 1.1B model write 1.5 GB at startup). A big
// cache is backed by 2 MB transparent huge pages where the system allows them (fewer TLB misses
// deep in the context), so it grows in steps of 2 MB per layer's keys and values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "aded/tensor_type.h"

namespace aded {

class KvCache {
 public:
  // Throws std::bad_alloc when the address space cannot be reserved. Types: F32, F16, Q8_0 (then
  // kv_dim % 32 == 0 and stores start and end at blocks).
  KvCache(size_t n_layers, size_t n_cells, size_t kv_dim, TensorType key_type, TensorType value_type);

  // The bytes of one cell's keys (values) in a layer, for a type.
  static size_t row_bytes(TensorType type, size_t kv_dim);

  // Cell 0's keys (values) in a layer; cell c's follow at element c * kv_dim of the type.
  const void* keys(size_t layer) const { return k_.get() + layer * n_cells_ * k_row_; }
  const void* values(size_t layer) const { return v_.get() + layer * n_cells_ * v_row_; }
  TensorType key_type() const { return k_type_; }
  TensorType value_type() const { return v_type_; }
  size_t kv_dim() const { return kv_dim_; }
  // Bytes of keys and values together (reserved; resident only where written).
  size_t bytes() const { return n_layers_ * n_cells_ * (k_row_ + v_row_); }

  // Stores elements [first, first + n) of a cell's keys and values, converted to the cache's types.
  void store(size_t layer, size_t cell, size_t first, size_t n, const float* keys, const float* values);
  // Copies cell `from` to cell `to` in every layer.
  void copy_cell(size_t from, size_t to);

 private:
  struct Unmap {
    size_t bytes;
    void operator()(uint8_t* p) const;
  };
  using Region = std::unique_ptr<uint8_t, Unmap>;
  static Region map(size_t bytes);
  uint8_t* key_row(size_t layer, size_t cell) { return k_.get() + (layer * n_cells_ + cell) * k_row_; }
  uint8_t* value_row(size_t layer, size_t cell) { return v_.get() + (layer * n_cells_ + cell) * v_row_; }

  size_t n_layers_, n_cells_, kv_dim_;
  TensorType k_type_, v_type_;
  size_t k_row_, v_row_;  // bytes per cell and layer
  Region k_, v_;
};

}  // namespace aded
