// Byte-level BPE ("gpt2" in GGUF): special tokens are split out first (user-defined ones always,
// control ones when asked), the rest is
// pre-tokenized by the model's regex, each pre-token's bytes become GPT-2's printable byte
// symbols, and merges are applied lowest rank first (leftmost on ties).
#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "aded/error.h"
#include "tokenizer/bpe_pretokenizer.h"
#include "tokenizer_impl.h"

namespace aded {

namespace {

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// The code point of a valid UTF-8 character of len bytes at text[pos].
uint32_t decode_utf8(std::string_view text, size_t pos, size_t len) {
  const auto lead = static_cast<unsigned char>(text[pos]);
  if (len == 1) return lead;
  uint32_t cp = lead & (0x7Fu >> len);
  for (size_t k = 1; k < len; ++k)
    cp = (cp << 6) | (static_cast<unsigned char>(text[pos + k]) & 0x3Fu);
  return cp;
}

// GPT-2's bytes-to-unicode table: printable bytes stand for themselves; the other 68 (controls,
// space, DEL, NBSP, soft hyphen, ...) take U+0100 onwards in byte order, so that every piece in
// the vocabulary is printable text.
class ByteSymbols {
 public:
  ByteSymbols() {
    byte_of_.fill(-1);
    uint32_t next_extra = 256;
    for (uint32_t b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      const uint32_t cp = printable ? b : next_extra++;
      byte_of_[cp] = static_cast<int16_t>(b);
      append_utf8(utf8_[b], cp);
    }
  }
  // The symbol of a byte, as UTF-8.
  const std::string& utf8(unsigned char byte) const { return utf8_[byte]; }
  // The byte a code point stands for, or -1.
  int byte_of(uint32_t cp) const { return cp < byte_of_.size() ? byte_of_[cp] : -1; }

 private:
  std::array<std::string, 256> utf8_;
  std::array<int16_t, 256 + 68> byte_of_{};
};

// Merges by the ids of their two sides: rank (priority, lower first) and the merged token.
class MergeTable {
 public:
  struct Merge {
    int32_t rank;
    int32_t result;
  };

  MergeTable(const std::vector<std::string>& merges,
             const std::unordered_map<std::string, int32_t>& piece_to_id) {
    by_pair_.reserve(merges.size());
    for (size_t rank = 0; rank < merges.size(); ++rank) add(merges[rank], rank, piece_to_id);
  }

  const Merge* find(int32_t left, int32_t right) const {
    const auto it = by_pair_.find(key(left, right));
    return it == by_pair_.end() ? nullptr : &it->second;
  }

 private:
  static uint64_t key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
           static_cast<uint32_t>(right);
  }

  void add(std::string_view merge, size_t rank,
           const std::unordered_map<std::string, int32_t>& piece_to_id) {
    // Byte symbols never include a space, so the first space after the first character splits
    // the two sides.
    const size_t space = merge.find(' ', 1);
    if (space == std::string_view::npos)
      fail("BPE merge {} ('{}') is not two pieces separated by a space", rank, merge);
    const std::string left(merge.substr(0, space));
    const std::string right(merge.substr(space + 1));
    const auto left_id = piece_to_id.find(left);
    const auto right_id = piece_to_id.find(right);
    const auto result_id = piece_to_id.find(left + right);
    // A merge whose pieces are not all tokens can never contribute to an encoding: skip it.
    if (left_id == piece_to_id.end() || right_id == piece_to_id.end() ||
        result_id == piece_to_id.end())
      return;
    // The first (lowest-ranked) occurrence of a pair wins.
    by_pair_.emplace(key(left_id->second, right_id->second),
                     Merge{static_cast<int32_t>(rank), result_id->second});
  }

  std::unordered_map<uint64_t, Merge> by_pair_;
};

// Finds the longest special-token text at a position: a byte trie over the texts.
class SpecialTokenMatcher {
 public:
  struct Found {
    size_t length = 0;  // 0: none
    int32_t id = -1;
  };

  void add(std::string_view text, int32_t id) {
    if (text.empty()) return;
    size_t node = 0;
    for (const char c : text) node = child_or_new(node, static_cast<unsigned char>(c));
    if (nodes_[node].token < 0) nodes_[node].token = id;  // duplicates: the first id wins
    starts_[static_cast<unsigned char>(text[0])] = true;
  }

  bool empty() const { return nodes_.size() == 1; }

  Found longest_at(std::string_view text, size_t pos) const {
    Found best;
    if (!starts_[static_cast<unsigned char>(text[pos])]) return best;
    size_t node = 0;
    for (size_t i = pos; i < text.size(); ++i) {
      const auto next = child(node, static_cast<unsigned char>(text[i]));
      if (!next) break;
      node = *next;
      if (nodes_[node].token >= 0) best = {i + 1 - pos, nodes_[node].token};
    }
    return best;
  }

 private:
  struct Node {
    std::vector<std::pair<unsigned char, size_t>> children;
    int32_t token = -1;
  };

  std::optional<size_t> child(size_t node, unsigned char byte) const {
    for (const auto& [b, index] : nodes_[node].children)
      if (b == byte) return index;
    return std::nullopt;
  }

  size_t child_or_new(size_t node, unsigned char byte) {
    if (const auto existing = child(node, byte)) return *existing;
    nodes_.emplace_back();
    const size_t index = nodes_.size() - 1;
    nodes_[node].children.emplace_back(byte, index);
    return index;
  }

  std::vector<Node> nodes_ = std::vector<Node>(1);  // nodes_[0] is the root
  std::array<bool, 256> starts_{};                  // first bytes of texts, for a quick skip
};

// One symbol of a pre-token while merging: a token id in a doubly linked list over positions.
struct Symbol {
  int32_t id;
  int32_t prev;  // -1: first
  int32_t next;  // -1: last
};
constexpr int32_t kMergedAway = -2;  // id of a symbol absorbed into its left neighbour

// A possible merge of adjacent symbols; stale once either side has changed.
struct Candidate {
  int32_t rank;
  int32_t left, right;        // symbol positions
  int32_t left_id, right_id;  // their ids when the candidate was made
  int32_t result;
};
// Heap order: the lowest rank on top, then the leftmost.
struct LaterCandidate {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.rank != b.rank ? a.rank > b.rank : a.left > b.left;
  }
};

// Buffers reused across the pre-tokens of one encode call.
struct EncodeScratch {
  std::vector<std::string_view> pretokens;
  std::vector<Symbol> symbols;
  std::vector<Candidate> heap;
  std::string byte_symbols;
};

class BpeTokenizer final : public Tokenizer {
 public:
  explicit BpeTokenizer(Vocab vocab)
      : Tokenizer(normalized(std::move(vocab))),
        pretokenizer_(vocab_.pre),
        merges_(vocab_.merges, vocab_.piece_to_id) {
    for (int b = 0; b < 256; ++b)
      byte_token_[b] = id_of(symbols_.utf8(static_cast<unsigned char>(b)));
    for (int32_t id = 0; id < vocab_.size(); ++id) {
      const auto kind = vocab_.kinds[static_cast<size_t>(id)];
      if (kind == TokenKind::Control || kind == TokenKind::UserDefined)
        specials_.add(vocab_.pieces[static_cast<size_t>(id)], id);
      if (kind == TokenKind::UserDefined) user_defined_.add(vocab_.pieces[static_cast<size_t>(id)], id);
    }
    token_bytes_.reserve(vocab_.pieces.size());
    for (int32_t id = 0; id < vocab_.size(); ++id) token_bytes_.push_back(bytes_of(id));
  }

  std::vector<int32_t> encode(std::string_view text, bool add_bos,
                              bool parse_special) const override {
    std::vector<int32_t> out;
    if (add_bos && vocab_.bos >= 0) out.push_back(vocab_.bos);
    EncodeScratch scratch;
    // User-defined tokens (the added tokens of a family: MPT's runs of spaces, DeepSeek Coder's
    // letters) are text the tokenizer always emits whole, as the original tokenizers do; control
    // tokens (markup such as "<|endoftext|>") only when the caller asks to parse them.
    const SpecialTokenMatcher& whole = parse_special ? specials_ : user_defined_;
    if (!whole.empty()) {
      encode_with_specials(whole, text, scratch, out);
    } else {
      encode_plain(text, scratch, out);
    }
    return out;
  }

  std::string token_bytes(int32_t id) const override {
    return valid(id) ? token_bytes_[static_cast<size_t>(id)] : std::string();
  }

 private:
  // Fills in what a Vocab built by hand may leave out, and checks what encoding relies on.
  static Vocab normalized(Vocab vocab) {
    if (vocab.pieces.empty()) fail("BPE tokenizer: the vocabulary is empty");
    if (vocab.kinds.empty()) vocab.kinds.assign(vocab.pieces.size(), TokenKind::Normal);
    if (vocab.kinds.size() != vocab.pieces.size())
      fail("BPE tokenizer: {} token kinds for {} tokens", vocab.kinds.size(), vocab.pieces.size());
    if (vocab.bos >= vocab.size())
      fail("BPE tokenizer: BOS id {} is outside the vocabulary (size {})", vocab.bos, vocab.size());
    if (vocab.piece_to_id.empty())
      for (int32_t id = 0; id < vocab.size(); ++id)
        vocab.piece_to_id.emplace(vocab.pieces[static_cast<size_t>(id)], id);
    // Byte-level BPE has no dummy prefix: a leading space is real text and must survive decoding.
    vocab.add_space_prefix = false;
    return vocab;
  }

  int32_t id_of(const std::string& piece) const {
    const auto it = vocab_.piece_to_id.find(piece);
    return it == vocab_.piece_to_id.end() ? -1 : it->second;
  }

  // Control tokens are markup and give nothing; user-defined tokens are stored as plain text; a
  // normal piece spells bytes in byte symbols, unless it has characters outside them (then the
  // piece is taken as plain UTF-8).
  std::string bytes_of(int32_t id) const {
    const auto kind = vocab_.kinds[static_cast<size_t>(id)];
    const std::string& piece = vocab_.pieces[static_cast<size_t>(id)];
    if (kind == TokenKind::Control) return {};
    if (kind == TokenKind::UserDefined) return piece;
    std::string bytes;
    for (size_t pos = 0; pos < piece.size();) {
      const size_t len = utf8_char_length(piece, pos);
      const int byte = len ? symbols_.byte_of(decode_utf8(piece, pos, len)) : -1;
      if (byte < 0) return piece;
      bytes += static_cast<char>(byte);
      pos += len;
    }
    return bytes;
  }

  void encode_with_specials(const SpecialTokenMatcher& specials, std::string_view text,
                            EncodeScratch& scratch, std::vector<int32_t>& out) const {
    size_t plain_begin = 0;
    for (size_t pos = 0; pos < text.size();) {
      const auto found = specials.longest_at(text, pos);
      if (found.length == 0) {
        ++pos;
        continue;
      }
      encode_plain(text.substr(plain_begin, pos - plain_begin), scratch, out);
      out.push_back(found.id);
      pos += found.length;
      plain_begin = pos;
    }
    encode_plain(text.substr(plain_begin), scratch, out);
  }

  void encode_plain(std::string_view text, EncodeScratch& scratch,
                    std::vector<int32_t>& out) const {
    if (text.empty()) return;
    scratch.pretokens.clear();
    pretokenizer_.split(text, scratch.pretokens);
    for (const auto pretoken : scratch.pretokens) encode_pretoken(pretoken, scratch, out);
  }

  void encode_pretoken(std::string_view word, EncodeScratch& scratch,
                       std::vector<int32_t>& out) const {
    // Symbol positions are 32-bit: a (pathological) gigabyte-long pre-token is merged in parts.
    constexpr size_t kMaxWord = size_t{1} << 30;
    for (; word.size() > kMaxWord; word.remove_prefix(kMaxWord))
      encode_word(word.substr(0, kMaxWord), scratch, out);
    encode_word(word, scratch, out);
  }

  void encode_word(std::string_view word, EncodeScratch& scratch, std::vector<int32_t>& out) const {
    if (word.size() == 1) {
      emit_byte_symbol(byte_token_[static_cast<unsigned char>(word[0])], out);
      return;
    }
    if (pretokenizer_.ignore_merges()) {
      scratch.byte_symbols.clear();
      for (const char c : word)
        scratch.byte_symbols += symbols_.utf8(static_cast<unsigned char>(c));
      if (const int32_t whole = id_of(scratch.byte_symbols); whole >= 0) {
        out.push_back(whole);
        return;
      }
    }
    apply_merges(word, scratch);
    for (int32_t i = 0; i >= 0; i = scratch.symbols[static_cast<size_t>(i)].next)
      emit_byte_symbol(scratch.symbols[static_cast<size_t>(i)].id, out);
  }

  // A symbol is -1 only for a byte whose symbol the vocabulary lacks: fall back to UNK, or drop.
  void emit_byte_symbol(int32_t id, std::vector<int32_t>& out) const {
    if (id >= 0) {
      out.push_back(id);
    } else if (vocab_.unk >= 0) {
      out.push_back(vocab_.unk);
    }
  }

  // Leaves the merged symbols of word in scratch.symbols (a list starting at position 0).
  void apply_merges(std::string_view word, EncodeScratch& scratch) const {
    auto& symbols = scratch.symbols;
    auto& heap = scratch.heap;
    symbols.clear();
    heap.clear();
    const auto n = static_cast<int32_t>(word.size());
    for (int32_t i = 0; i < n; ++i)
      symbols.push_back({byte_token_[static_cast<unsigned char>(word[static_cast<size_t>(i)])],
                         i - 1, i + 1 < n ? i + 1 : -1});
    for (int32_t i = 0; i + 1 < n; ++i) push_candidate(symbols, i, i + 1, heap);

    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end(), LaterCandidate{});
      const Candidate c = heap.back();
      heap.pop_back();
      Symbol& left = symbols[static_cast<size_t>(c.left)];
      Symbol& right = symbols[static_cast<size_t>(c.right)];
      if (left.id != c.left_id || right.id != c.right_id || left.next != c.right) continue;
      left.id = c.result;
      left.next = right.next;
      if (right.next >= 0) symbols[static_cast<size_t>(right.next)].prev = c.left;
      right.id = kMergedAway;
      if (left.prev >= 0) push_candidate(symbols, left.prev, c.left, heap);
      if (left.next >= 0) push_candidate(symbols, c.left, left.next, heap);
    }
  }

  void push_candidate(const std::vector<Symbol>& symbols, int32_t left, int32_t right,
                      std::vector<Candidate>& heap) const {
    const int32_t left_id = symbols[static_cast<size_t>(left)].id;
    const int32_t right_id = symbols[static_cast<size_t>(right)].id;
    const auto* merge = merges_.find(left_id, right_id);
    if (!merge) return;
    heap.push_back({merge->rank, left, right, left_id, right_id, merge->result});
    std::push_heap(heap.begin(), heap.end(), LaterCandidate{});
  }

  ByteSymbols symbols_;
  BpePretokenizer pretokenizer_;
  MergeTable merges_;
  SpecialTokenMatcher specials_;       // control and user-defined tokens
  SpecialTokenMatcher user_defined_;  // user-defined tokens only
  std::array<int32_t, 256> byte_token_{};  // token of each byte's symbol, -1 if absent
  std::vector<std::string> token_bytes_;
};

}  // namespace

std::unique_ptr<Tokenizer> make_bpe_tokenizer(Vocab vocab) {
  return std::make_unique<BpeTokenizer>(std::move(vocab));
}

}  // namespace aded
