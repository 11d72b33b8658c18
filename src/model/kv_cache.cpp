#include "model/kv_cache.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <new>

#include "aded/half.h"

namespace aded {

namespace {

// Elements [0, n) of a row of `type` from floats (F16: round to nearest even, as the file format).
void convert(TensorType type, const float* x, uint8_t* row, size_t n) {
  if (type == TensorType::F16) {
    auto* h = reinterpret_cast<uint16_t*>(row);
    for (size_t i = 0; i < n; ++i) h[i] = float_to_half(x[i]);
  } else {
    std::memcpy(row, x, n * sizeof(float));
  }
}

size_t element_bytes(TensorType type) { return type == TensorType::F16 ? 2 : 4; }

}  // namespace

void KvCache::Unmap::operator()(uint8_t* p) const {
  if (p) ::munmap(p, bytes);
}

KvCache::Region KvCache::map(size_t bytes) {
  bytes = std::max<size_t>(bytes, 1);
  // Private anonymous memory reads as zero and is backed only where written; no reservation of
  // swap for the whole window (MAP_NORESERVE): the context's size was checked against memory.
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return Region(static_cast<uint8_t*>(p), Unmap{bytes});
}

size_t KvCache::row_bytes(TensorType type, size_t kv_dim) { return kv_dim * element_bytes(type); }

KvCache::KvCache(size_t n_layers, size_t n_cells, size_t kv_dim, TensorType key_type, TensorType value_type)
    : n_layers_(n_layers),
      n_cells_(n_cells),
      kv_dim_(kv_dim),
      k_type_(key_type),
      v_type_(value_type),
      k_row_(row_bytes(key_type, kv_dim)),
      v_row_(row_bytes(value_type, kv_dim)),
      k_(map(n_layers * n_cells * k_row_)),
      v_(map(n_layers * n_cells * v_row_)) {}

void KvCache::store(size_t layer, size_t cell, size_t first, size_t n, const float* keys, const float* values) {
  convert(k_type_, keys, key_row(layer, cell) + first * element_bytes(k_type_), n);
  convert(v_type_, values, value_row(layer, cell) + first * element_bytes(v_type_), n);
}

void KvCache::copy_cell(size_t from, size_t to) {
  for (size_t l = 0; l < n_layers_; ++l) {
    std::memcpy(key_row(l, to), key_row(l, from), k_row_);
    std::memcpy(value_row(l, to), value_row(l, from), v_row_);
  }
}

}  // namespace aded
