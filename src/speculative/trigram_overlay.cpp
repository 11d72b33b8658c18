#include <algorithm>

#include "aded/aded_drafter.h"

namespace aded {

void TrigramOverlay::add(int32_t a, int32_t b, int32_t c, float step, float cap) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& entries = map_[key(a, b)];
  for (auto& e : entries) {
    if (e.token == c) {
      e.boost = std::min(cap, e.boost + step);
      return;
    }
  }
  entries.push_back({c, std::min(cap, step)});
}

void TrigramOverlay::find(int32_t a, int32_t b, std::vector<Entry>& out) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = map_.find(key(a, b));
  if (it != map_.end()) out.insert(out.end(), it->second.begin(), it->second.end());
}

void TrigramOverlay::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  map_.clear();
}

size_t TrigramOverlay::keys() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return map_.size();
}

}  // namespace aded
