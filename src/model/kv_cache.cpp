#include "model/kv_cache.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <new>

#include <fmt/format.h>

#include "aded/error.h"
#include "core/quant/blocks.h"
#include "core/quant/quant.h"

namespace aded {

namespace {

// The bytes before element `first` of a row of `type` (at a block boundary for Q8_0).
size_t row_offset(TensorType type, size_t first) {
  return type == TensorType::Q8_0 ? first / 32 * sizeof(quant::BlockQ8_0) : first * (type == TensorType::F16 ? 2 : 4);
}

}  // namespace

void KvCache::Unmap::operator()(uint8_t* p) const {
  if (p) ::munmap(p, bytes);
}

KvCache::Region KvCache::map(size_t bytes) {
  const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  bytes = (std::max<size_t>(bytes, 1) + page - 1) / page * page;
  // Private anonymous memory reads as zero and is backed only where written; no reservation of
  // swap for the whole window (MAP_NORESERVE): the context's size was checked against memory.
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return Region(static_cast<uint8_t*>(p), Unmap{bytes});
}

size_t KvCache::row_bytes(TensorType type, size_t n) { return row_offset(type, n); }

// Checked before anything is mapped: a head of Q8_0 must be whole blocks.
size_t KvCache::head_row_bytes(TensorType type, size_t head_dim) {
  if (type == TensorType::Q8_0 && head_dim % 32 != 0)
    throw Error(fmt::format("KV cache: Q8_0 needs heads of a multiple of 32 elements, not {}", head_dim));
  return row_bytes(type, head_dim);
}

KvCache::KvCache(size_t n_layers, size_t n_cells, size_t n_kv_heads, size_t head_dim, TensorType key_type,
                 TensorType value_type)
    : n_layers_(n_layers),
      n_cells_(n_cells),
      n_kv_heads_(n_kv_heads),
      head_dim_(head_dim),
      k_type_(key_type),
      v_type_(value_type),
      k_head_row_(head_row_bytes(key_type, head_dim)),
      v_head_row_(head_row_bytes(value_type, head_dim)),
      k_(map(n_layers * n_kv_heads * n_cells * k_head_row_)),
      v_(map(n_layers * n_kv_heads * n_cells * v_head_row_)) {}

void KvCache::store(size_t layer, size_t cell, size_t first, size_t n, const float* keys, const float* values) {
  // F16 rounds to nearest even and Q8_0 quantizes as the file formats do (core/quant).
  const auto h = static_cast<int64_t>(head_dim_);
  for (size_t head = first / head_dim_, done = 0; done < n; ++head, done += head_dim_) {
    quant::quantize_row(k_type_, keys + done, key_row(layer, head, cell), h);
    quant::quantize_row(v_type_, values + done, value_row(layer, head, cell), h);
  }
}

void KvCache::copy_cell(size_t from, size_t to) {
  for (size_t l = 0; l < n_layers_; ++l)
    for (size_t h = 0; h < n_kv_heads_; ++h) {
      std::memcpy(key_row(l, h, to), key_row(l, h, from), k_head_row_);
      std::memcpy(value_row(l, h, to), value_row(l, h, from), v_head_row_);
    }
}

}  // namespace aded
