// A byte trie over vocabulary pieces for leftmost-longest matching: user-defined pieces (which
// SentencePiece always keeps whole) and control pieces such as "<s>" (matched when the caller asks
// for special tokens to be parsed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace aded {

class PieceTrie {
 public:
  struct Match {
    size_t length = 0;  // 0: no piece is a prefix of the text
    int32_t id = -1;
  };

  // Adds a piece; the first id inserted for a piece wins. Empty pieces are ignored.
  void insert(std::string_view piece, int32_t id);
  // The longest inserted piece that is a prefix of text.
  Match longest_prefix(std::string_view text) const;
  bool empty() const { return nodes_.size() == 1; }

 private:
  static constexpr int32_t kNoChild = -1;
  struct Node {
    int32_t id = -1;                                          // the piece ending here, or -1
    std::vector<std::pair<unsigned char, int32_t>> children;  // sorted by byte
  };

  int32_t child(int32_t node, unsigned char byte) const;
  int32_t add_child(int32_t node, unsigned char byte);

  std::vector<Node> nodes_{1};  // nodes_[0] is the root
};

}  // namespace aded
