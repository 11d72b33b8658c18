#include "model/kv_cache.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <new>

namespace aded {

void KvCache::Unmap::operator()(float* p) const {
  if (p) ::munmap(p, bytes);
}

KvCache::Region KvCache::map(size_t floats) {
  const size_t bytes = std::max<size_t>(floats, 1) * sizeof(float);
  // Private anonymous memory reads as zero and is backed only where written; no reservation of
  // swap for the whole window (MAP_NORESERVE): the context's size was checked against memory.
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return Region(static_cast<float*>(p), Unmap{bytes});
}

KvCache::KvCache(size_t n_layers, size_t n_cells, size_t kv_dim)
    : n_layers_(n_layers),
      n_cells_(n_cells),
      kv_dim_(kv_dim),
      floats_(n_layers * n_cells * kv_dim),
      k_(map(floats_)),
      v_(map(floats_)) {}

void KvCache::copy_cell(size_t from, size_t to) {
  for (size_t l = 0; l < n_layers_; ++l) {
    std::memcpy(keys(l, to), keys(l, from), kv_dim_ * sizeof(float));
    std::memcpy(values(l, to), values(l, from), kv_dim_ * sizeof(float));
  }
}

}  // namespace aded
