#include "spm_merge.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <unordered_map>
#include <utility>

#include "aded/error.h"

namespace aded {

namespace {

bool mergeable_kind(TokenKind kind) {
  return kind == TokenKind::Normal || kind == TokenKind::UserDefined || kind == TokenKind::Unused ||
         kind == TokenKind::Undefined;
}

bool is_continuation(unsigned char c) {
  return (c & 0xC0) == 0x80;
}

// Rank 0 for the highest score, equal scores sharing a rank; NaN ranks with -infinity.
std::vector<uint32_t> score_ranks(const Vocab& vocab) {
  const auto score_of = [&](size_t i) {
    const float s = i < vocab.scores.size() ? vocab.scores[i] : 0.0f;
    return std::isnan(s) ? -std::numeric_limits<float>::infinity() : s;
  };
  std::vector<float> distinct;
  for (size_t i = 0; i < vocab.pieces.size(); ++i) distinct.push_back(score_of(i));
  std::sort(distinct.begin(), distinct.end(), std::greater<>());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  std::vector<uint32_t> ranks(vocab.pieces.size());
  for (size_t i = 0; i < ranks.size(); ++i) {
    const auto it =
        std::lower_bound(distinct.begin(), distinct.end(), score_of(i), std::greater<>());
    ranks[i] = static_cast<uint32_t>(it - distinct.begin());
  }
  return ranks;
}

constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();

// A symbol is the text range [begin, begin + length) in a doubly linked list; a symbol merged
// into its left neighbour keeps length 0. 32-bit fields keep the working set small: the merge
// loop is bound by cache misses on long inputs.
struct Symbol {
  uint32_t begin = 0;
  uint32_t length = 0;
  uint32_t prev = kNone;
  uint32_t next = kNone;
  bool frozen = false;  // a user-defined piece: never merged
};

// Merging symbols left and right would give a piece of this length. key = rank << 32 | left:
// the smallest key is the highest-scoring pair, leftmost among equals.
struct Candidate {
  uint64_t key = 0;
  uint32_t right = 0;
  uint32_t length = 0;

  uint32_t left() const { return static_cast<uint32_t>(key); }
};

struct LaterKey {  // for std::*_heap: the heap's front is the smallest key
  bool operator()(const Candidate& a, const Candidate& b) const { return a.key > b.key; }
};

class Segmenter {
 public:
  Segmenter(std::string_view text, const SpmMergeTable& table) : text_(text), table_(table) {
    if (text.size() >= kNone) fail("text of {} bytes is too long to tokenize at once", text.size());
  }

  std::vector<SpmPiece> run() {
    split_into_symbols();
    queue_initial_pairs();
    Candidate top;
    while (pop(top)) {
      if (!is_stale(top)) merge(top);
    }
    return collect();
  }

 private:
  std::string_view piece(const Symbol& s) const { return text_.substr(s.begin, s.length); }

  void split_into_symbols() {
    symbols_.reserve(text_.size());
    uint32_t pos = 0;
    const auto size = static_cast<uint32_t>(text_.size());
    while (pos < size) {
      const auto rest = text_.substr(pos);
      const auto user = table_.user_defined().longest_prefix(rest);
      Symbol s;
      s.begin = pos;
      s.length = static_cast<uint32_t>(user.length > 0 ? user.length : utf8_char_length(rest));
      s.frozen = user.length > 0;
      s.prev = symbols_.empty() ? kNone : static_cast<uint32_t>(symbols_.size() - 1);
      pos += s.length;
      s.next = pos < size ? static_cast<uint32_t>(symbols_.size() + 1) : kNone;
      symbols_.push_back(s);
    }
  }

  // The pairs of the starting symbols are all known at once: sorting them beats pushing them one
  // by one into the heap, whose pops would then miss the cache at every level.
  void queue_initial_pairs() {
    for (uint32_t i = 0; i + 1 < symbols_.size(); ++i) {
      Candidate c;
      if (make_candidate(i, i + 1, c)) initial_.push_back(c);
    }
    std::sort(initial_.begin(), initial_.end(),
              [](const Candidate& a, const Candidate& b) { return a.key < b.key; });
  }

  void push_later(uint32_t left, uint32_t right) {
    Candidate c;
    if (!make_candidate(left, right, c)) return;
    later_.push_back(c);
    std::push_heap(later_.begin(), later_.end(), LaterKey());
  }

  // The smallest key of the sorted starting pairs and the heap of pairs found while merging.
  bool pop(Candidate& out) {
    const bool have_initial = next_initial_ < initial_.size();
    if (!later_.empty() && (!have_initial || later_.front().key < initial_[next_initial_].key)) {
      std::pop_heap(later_.begin(), later_.end(), LaterKey());
      out = later_.back();
      later_.pop_back();
      return true;
    }
    if (!have_initial) return false;
    out = initial_[next_initial_++];
    return true;
  }

  bool make_candidate(uint32_t left, uint32_t right, Candidate& out) {
    if (left == kNone || right == kNone) return false;
    const Symbol& l = symbols_[left];
    const Symbol& r = symbols_[right];
    if (l.frozen || r.frozen) return false;
    // Adjacent symbols are adjacent in the text, so the merged piece is one contiguous view.
    const auto merged = text_.substr(l.begin, l.length + r.length);
    const int32_t id = table_.find(merged);
    if (id < 0) return false;
    out.key = uint64_t{table_.rank(id)} << 32 | left;
    out.right = right;
    out.length = l.length + r.length;
    // As SentencePiece does: remember how an unused piece was formed (the last pair seen wins),
    // to split it again at the end.
    if (table_.is_unused(id)) unused_splits_[merged] = {piece(l), piece(r)};
    return true;
  }

  // A candidate is outdated when either side was merged away or grew since it was queued.
  bool is_stale(const Candidate& c) const {
    const Symbol& l = symbols_[c.left()];
    const Symbol& r = symbols_[c.right];
    return l.length == 0 || r.length == 0 || l.next != c.right || l.length + r.length != c.length;
  }

  void merge(const Candidate& c) {
    const uint32_t left = c.left();
    Symbol& l = symbols_[left];
    Symbol& r = symbols_[c.right];
    l.length += r.length;
    l.next = r.next;
    if (r.next != kNone) symbols_[r.next].prev = left;
    r.length = 0;
    push_later(l.prev, left);
    push_later(left, l.next);
  }

  std::vector<SpmPiece> collect() const {
    std::vector<SpmPiece> out;
    for (uint32_t i = symbols_.empty() ? kNone : 0; i != kNone; i = symbols_[i].next)
      resegment(piece(symbols_[i]), out);
    return out;
  }

  // Unused pieces are valid merge steps but not valid output: split them into their parts.
  void resegment(std::string_view text, std::vector<SpmPiece>& out) const {
    const int32_t id = table_.find(text);
    if (id >= 0 && table_.is_unused(id)) {
      const auto split = unused_splits_.find(text);
      if (split != unused_splits_.end()) {
        resegment(split->second.first, out);
        resegment(split->second.second, out);
        return;
      }
    }
    out.push_back({text, id});
  }

  std::string_view text_;
  const SpmMergeTable& table_;
  std::vector<Symbol> symbols_;
  std::vector<Candidate> initial_;  // sorted by key, consumed from next_initial_
  size_t next_initial_ = 0;
  std::vector<Candidate> later_;  // a heap
  std::unordered_map<std::string_view, std::pair<std::string_view, std::string_view>>
      unused_splits_;
};

}  // namespace

SpmMergeTable::SpmMergeTable(const Vocab& vocab)
    : mergeable_(vocab.pieces), ranks_(score_ranks(vocab)), unused_(vocab.pieces.size(), false) {
  for (int32_t id = 0; id < vocab.size(); ++id) {
    const auto i = static_cast<size_t>(id);
    const TokenKind kind = vocab.kinds[i];
    unused_[i] = kind == TokenKind::Unused;
    if (!mergeable_kind(kind) || vocab.pieces[i].empty()) continue;
    mergeable_.insert(id);  // a duplicate piece keeps its first id
    if (kind == TokenKind::UserDefined) user_defined_.insert(vocab.pieces[i], id);
  }
}

int32_t SpmMergeTable::find(std::string_view piece) const {
  return mergeable_.find(piece);
}

std::vector<SpmPiece> spm_segment(std::string_view normalized, const SpmMergeTable& table) {
  return Segmenter(normalized, table).run();
}

size_t utf8_char_length(std::string_view text) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  size_t length;
  unsigned char second_min = 0x80, second_max = 0xBF;  // ranges that exclude overlong forms,
  if (lead >= 0xC2 && lead <= 0xDF) {                  // surrogates and code points > U+10FFFF
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_min = 0xA0;
    if (lead == 0xED) second_max = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_min = 0x90;
    if (lead == 0xF4) second_max = 0x8F;
  } else {
    return 1;
  }
  if (text.size() < length || byte(1) < second_min || byte(1) > second_max) return 1;
  for (size_t i = 2; i < length; ++i)
    if (!is_continuation(byte(i))) return 1;
  return length;
}

}  // namespace aded
