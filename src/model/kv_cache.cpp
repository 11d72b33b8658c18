#include "model/kv_cache.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <new>

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
  // A big cache starts on a 2 MB boundary and is marked for transparent huge pages: a forward deep
  // in the context reads every layer's cells, and with 4 KB pages the TLB misses on every page
  // (the weights are marked the same way). The price: memory is then backed 2 MB at a time.
  constexpr size_t kHuge = size_t{2} << 20;
  const size_t slack = bytes >= kHuge ? kHuge : 0;
  void* p = ::mmap(nullptr, bytes + slack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  auto* start = static_cast<uint8_t*>(p);
  if (slack != 0) {
    const size_t head = (kHuge - reinterpret_cast<uintptr_t>(start) % kHuge) % kHuge;
    if (head != 0) ::munmap(start, head);
    if (slack - head != 0) ::munmap(start + head + bytes, slack - head);
    start += head;
    ::madvise(start, bytes, MADV_HUGEPAGE);  // advice only: without THP the cache works as before
  }
  return Region(start, Unmap{bytes});
}

size_t KvCache::row_bytes(TensorType type, size_t kv_dim) { return row_offset(type, kv_dim); }

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
  // F16 rounds to nearest even and Q8_0 quantizes as the file formats do (core/quant).
  quant::quantize_row(k_type_, keys, key_row(layer, cell) + row_offset(k_type_, first), static_cast<int64_t>(n));
  quant::quantize_row(v_type_, values, value_row(layer, cell) + row_offset(v_type_, first), static_cast<int64_t>(n));
}

void KvCache::copy_cell(size_t from, size_t to) {
  for (size_t l = 0; l < n_layers_; ++l) {
    std::memcpy(key_row(l, to), key_row(l, from), k_row_);
    std::memcpy(value_row(l, to), value_row(l, from), v_row_);
  }
}

}  // namespace aded
