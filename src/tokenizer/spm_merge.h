// The core of SentencePiece's BPE model: split normalized text into characters and merge adjacent
// symbols, always taking the pair whose merged piece has the highest score (ties: leftmost).
// Symbols form a linked list; candidate pairs wait in a priority queue (the starting pairs sorted
// once, pairs that appear while merging in a heap), so the whole is O(n log n). Texts are limited
// to 4 GiB (longer ones throw InputError).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "aded/tokenizer.h"
#include "spm_piece_index.h"
#include "spm_piece_trie.h"

namespace aded {

// What merging needs to know about a vocabulary. Views into vocab.pieces: the Vocab must outlive
// the table and keep its pieces unchanged.
class SpmMergeTable {
 public:
  explicit SpmMergeTable(const Vocab& vocab);

  // The id of a piece merges may produce (Normal, UserDefined, Unused or Undefined), or -1.
  // Control, Unknown and Byte pieces are never produced by merging, as in SentencePiece.
  int32_t find(std::string_view piece) const;
  // Merge priority of a piece: 0 for the highest score; equal scores share a rank.
  uint32_t rank(int32_t id) const { return ranks_[static_cast<size_t>(id)]; }
  bool is_unused(int32_t id) const { return unused_[static_cast<size_t>(id)]; }
  // User-defined pieces: always kept whole and never merged with their neighbours.
  const PieceTrie& user_defined() const { return user_defined_; }

 private:
  PieceIndex mergeable_;
  std::vector<uint32_t> ranks_;  // integer keys compare faster than scores; NaN ranks last
  std::vector<bool> unused_;
  PieceTrie user_defined_;
};

// One output symbol: a view into the normalized text and its id (-1: not in the vocabulary; the
// caller falls back to byte tokens or unk).
struct SpmPiece {
  std::string_view text;
  int32_t id = -1;
};

// Segments normalized text (dummy prefix added, spaces already "▁"). Each character is a starting
// symbol; a byte that does not start a valid UTF-8 character is a symbol of its own. Pieces of
// kind Unused may be merged through but are split back into the pair that formed them.
std::vector<SpmPiece> spm_segment(std::string_view normalized, const SpmMergeTable& table);

// Length of the valid UTF-8 character at the start of text, or 1 when the first byte does not
// start one (text must not be empty).
size_t utf8_char_length(std::string_view text);

}  // namespace aded
