#include "spm_piece_trie.h"

#include <algorithm>

namespace aded {

namespace {

bool byte_less(const std::pair<unsigned char, int32_t>& edge, unsigned char byte) {
  return edge.first < byte;
}

}  // namespace

int32_t PieceTrie::child(int32_t node, unsigned char byte) const {
  const auto& edges = nodes_[static_cast<size_t>(node)].children;
  const auto it = std::lower_bound(edges.begin(), edges.end(), byte, byte_less);
  return it != edges.end() && it->first == byte ? it->second : kNoChild;
}

int32_t PieceTrie::add_child(int32_t node, unsigned char byte) {
  const int32_t existing = child(node, byte);
  if (existing != kNoChild) return existing;
  const auto fresh = static_cast<int32_t>(nodes_.size());
  nodes_.emplace_back();  // may reallocate: index into nodes_ only after this
  auto& edges = nodes_[static_cast<size_t>(node)].children;
  edges.insert(std::lower_bound(edges.begin(), edges.end(), byte, byte_less), {byte, fresh});
  return fresh;
}

void PieceTrie::insert(std::string_view piece, int32_t id) {
  if (piece.empty()) return;
  int32_t node = 0;
  for (const char c : piece) node = add_child(node, static_cast<unsigned char>(c));
  auto& end = nodes_[static_cast<size_t>(node)];
  if (end.id < 0) end.id = id;
}

PieceTrie::Match PieceTrie::longest_prefix(std::string_view text) const {
  Match best;
  int32_t node = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    node = child(node, static_cast<unsigned char>(text[i]));
    if (node == kNoChild) break;
    const int32_t id = nodes_[static_cast<size_t>(node)].id;
    if (id >= 0) best = {i + 1, id};
  }
  return best;
}

}  // namespace aded
