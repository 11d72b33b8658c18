// Piece -> id lookup for the merge loop, which asks once per candidate pair: an open-addressing
// table (linear probing, at most half full) that is several times faster than
// std::unordered_map<std::string_view, int32_t> on these short keys.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace aded {

class PieceIndex {
 public:
  // pieces must outlive the index and stay unchanged.
  explicit PieceIndex(const std::vector<std::string>& pieces) : pieces_(pieces) {}

  // Adds a piece; a piece already present keeps its first id.
  void insert(int32_t id);
  // The id of piece, or -1.
  int32_t find(std::string_view piece) const;

 private:
  struct Slot {
    uint32_t hash = 0;
    int32_t id = -1;  // -1: empty
  };

  static uint32_t hash(std::string_view piece);
  size_t home(uint32_t h) const;
  void grow();

  const std::vector<std::string>& pieces_;
  std::vector<Slot> slots_;
  size_t used_ = 0;
};

}  // namespace aded
