#include "spm_piece_index.h"

#include <utility>

namespace aded {

uint32_t PieceIndex::hash(std::string_view piece) {
  // FNV-1a, then a multiplicative mix so the top bits (used for the slot) depend on every byte.
  uint32_t h = 2166136261u;
  for (const char c : piece) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  return h * 2654435761u;
}

size_t PieceIndex::home(uint32_t h) const {
  // slots_.size() is a power of two; the high bits of h are the best mixed.
  return (uint64_t{h} * slots_.size()) >> 32;
}

void PieceIndex::grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.empty() ? 16 : old.size() * 2, Slot{});
  const size_t mask = slots_.size() - 1;
  for (const Slot& s : old) {
    if (s.id < 0) continue;
    size_t i = home(s.hash);
    while (slots_[i].id >= 0) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

void PieceIndex::insert(int32_t id) {
  const std::string_view piece = pieces_[static_cast<size_t>(id)];
  if (find(piece) >= 0) return;
  if (2 * (used_ + 1) > slots_.size()) grow();
  const uint32_t h = hash(piece);
  const size_t mask = slots_.size() - 1;
  size_t i = home(h);
  while (slots_[i].id >= 0) i = (i + 1) & mask;
  slots_[i] = {h, id};
  ++used_;
}

int32_t PieceIndex::find(std::string_view piece) const {
  if (slots_.empty()) return -1;
  const uint32_t h = hash(piece);
  const size_t mask = slots_.size() - 1;
  for (size_t i = home(h);; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.id < 0) return -1;
    if (s.hash == h && pieces_[static_cast<size_t>(s.id)] == piece) return s.id;
  }
}

}  // namespace aded
