#include "model/kv_cache.h"

#include <cstring>

namespace aded {

void KvCache::copy_cell(size_t from, size_t to) {
  for (size_t l = 0; l < n_layers_; ++l) {
    std::memcpy(keys(l, to), keys(l, from), kv_dim_ * sizeof(float));
    std::memcpy(values(l, to), values(l, from), kv_dim_ * sizeof(float));
  }
}

}  // namespace aded
