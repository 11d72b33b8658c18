// The KV cache: keys and values of every layer for each cell of the context, laid out
// [layer][kv head][cell][head_dim], each in its type (F32; F16 at half the memory and bandwidth;
// Q8_0, the GGUF blocks of 32 elements, at 34/128 of F32's, for heads of a multiple of 32
// elements). Cell c holds the token at position c of the committed sequence, or a token of the
// last batch (cell n_past + i for batch token i) until the batch is committed.
//
// Head-major because attention reads one kv head's keys, then its values, over every cell: each is
// then one run of memory that prefetchers follow at full speed. Laid out [layer][cell][kv_dim], a
// head's elements were short runs a row apart, and one token's attention over 22 layers x 4 heads
// at depth 4096 (F16, one thread) took 13.3 ms against 8.6 ms head-major.
//
// Its memory is mapped, not filled: pages are zero until first written, and take physical memory
// only then, so a context sized for the model's whole training window costs what the text in it
// uses (a zero-filled vector made a 32k context of a 1.1B model write 1.5 GB at startup). Not on
// huge pages: every head's run would back a 2 MB page of its own from the first token (the 1.1B at
// a 32k context: 352 MB for a short text), and head-major runs read as fast on 4 KB pages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "aded/tensor_type.h"

namespace aded {

class KvCache {
 public:
  // Throws std::bad_alloc when the address space cannot be reserved, Error for a Q8_0 type with a
  // head size that is not a multiple of 32. Types: F32, F16, Q8_0.
  KvCache(size_t n_layers, size_t n_cells, size_t n_kv_heads, size_t head_dim, TensorType key_type,
          TensorType value_type);

  // The bytes of n elements (n % 32 == 0 for Q8_0) of a type.
  static size_t row_bytes(TensorType type, size_t n);

  // A layer's keys (values): kv head h's elements for cell c start at element
  // h * head_stride() + c * head_dim() of the type.
  const void* keys(size_t layer) const { return k_.get() + layer * n_kv_heads_ * n_cells_ * k_head_row_; }
  const void* values(size_t layer) const { return v_.get() + layer * n_kv_heads_ * n_cells_ * v_head_row_; }
  size_t head_stride() const { return n_cells_ * head_dim_; }
  size_t head_dim() const { return head_dim_; }
  TensorType key_type() const { return k_type_; }
  TensorType value_type() const { return v_type_; }
  // Bytes of keys and values together (reserved; resident only where written).
  size_t bytes() const { return n_layers_ * n_kv_heads_ * n_cells_ * (k_head_row_ + v_head_row_); }
  // The same for a cache not made yet (a context's size is checked against memory first).
  static double bytes_for(size_t n_layers, size_t n_cells, size_t n_kv_heads, size_t head_dim, TensorType key_type,
                          TensorType value_type) {
    return static_cast<double>(n_layers) * static_cast<double>(n_kv_heads) * static_cast<double>(n_cells) *
           static_cast<double>(row_bytes(key_type, head_dim) + row_bytes(value_type, head_dim));
  }

  // Stores elements [first, first + n) of a cell's keys and values (whole heads: both multiples
  // of head_dim, as the kv heads follow each other in a token's row), converted to the cache's
  // types.
  void store(size_t layer, size_t cell, size_t first, size_t n, const float* keys, const float* values);
  // Copies cell `from` to cell `to` in every layer and head.
  void copy_cell(size_t from, size_t to);

 private:
  struct Unmap {
    size_t bytes;
    void operator()(uint8_t* p) const;
  };
  using Region = std::unique_ptr<uint8_t, Unmap>;
  static Region map(size_t bytes);
  static size_t head_row_bytes(TensorType type, size_t head_dim);
  uint8_t* key_row(size_t layer, size_t head, size_t cell) {
    return k_.get() + ((layer * n_kv_heads_ + head) * n_cells_ + cell) * k_head_row_;
  }
  uint8_t* value_row(size_t layer, size_t head, size_t cell) {
    return v_.get() + ((layer * n_kv_heads_ + head) * n_cells_ + cell) * v_head_row_;
  }

  size_t n_layers_, n_cells_, n_kv_heads_, head_dim_;
  TensorType k_type_, v_type_;
  size_t k_head_row_, v_head_row_;  // bytes of one head's elements for one cell
  Region k_, v_;
};

}  // namespace aded
