// BPE vocabulary training whose result the SPM tokenizer reproduces exactly.
//
// The SPM encoder does not apply merge rules "pair (a, b) -> ab"; it merges any two adjacent
// symbols whose concatenation is a piece, best score first, leftmost among equals. Plain BPE and
// this can disagree when a piece can be split in two ways ("a"+"bc" and "ab"+"c"), or when a new
// piece lets an older, better-scoring one form. So the trainer keeps every word segmented the way
// the SPM encoder segments it with the pieces learned so far. A new piece P scores below all
// others, so the encoder, given P, does what it did before until no better merge is left: it
// reaches the old segmentation. From there it merges the adjacent pairs that spell P, leftmost
// first, and whatever better merges these enable. resegment() does exactly that, starting from
// the old segmentation. Encoding a training word thus gives the symbols the trainer counted.
//
// Efficiency: words are counted once (the loop runs over distinct words); pair counts are kept
// up to date from the changes in the words a merge touches; each pair lists the words it occurs
// in; the most frequent pair comes from a max-heap whose entries may be out of date (a pair's
// count only drops without a new entry, so an entry is checked against the count when popped).
#include "tokenizer/vocab_trainer.h"

#include "aded/vocab_trainer.h"

#include <algorithm>
#include <optional>
#include <queue>

#include "aded/error.h"
#include "aded/gguf.h"
#include "aded/mapped_file.h"
#include "spm_merge.h"
#include "tokenizer/spm_normalizer.h"
#include "tokenizer/vocab_metadata.h"

namespace aded {

namespace {

constexpr int32_t kByteTokens = 256;
constexpr int32_t kReservedTokens = 3 + kByteTokens;  // <unk> <s> </s> and the bytes
constexpr int32_t kMinVocabSize = kReservedTokens + 1;
constexpr int32_t kMaxVocabSize = 65536;

enum class CharClass { Space, Newline, Other };

CharClass char_class(std::string_view ch) {
  if (ch == kSpmSpaceSymbol) return CharClass::Space;
  if (ch == "\n") return CharClass::Newline;
  return CharClass::Other;
}

bool starts_word(CharClass previous, CharClass current) {
  switch (current) {
    case CharClass::Newline:
      return previous != CharClass::Newline;
    case CharClass::Space:
      return previous == CharClass::Other;
    case CharClass::Other:
      return false;
  }
  return false;
}

// The characters of a word, as the SPM segmenter splits them.
std::vector<std::string_view> split_characters(std::string_view word) {
  std::vector<std::string_view> chars;
  while (!word.empty()) {
    const size_t length = utf8_char_length(word);
    chars.push_back(word.substr(0, length));
    word.remove_prefix(length);
  }
  return chars;
}

uint64_t count_characters(std::string_view text) {
  uint64_t chars = 0;
  for (size_t pos = 0; pos < text.size(); pos += utf8_char_length(text.substr(pos))) ++chars;
  return chars;
}

// A piece the learner must not produce: it would collide with a special or byte token's text.
bool is_reserved_piece(std::string_view piece) {
  if (piece == "<unk>" || piece == "<s>" || piece == "</s>") return true;
  return piece.size() == 6 && piece.starts_with("<0x") && piece.ends_with(">");
}

void check_options(const VocabTrainerOptions& o) {
  if (o.vocab_size < kMinVocabSize || o.vocab_size > kMaxVocabSize)
    fail(
        "vocabulary size {} is out of range: it must be between {} and {} ({} special and byte "
        "tokens come first)",
        o.vocab_size, kMinVocabSize, kMaxVocabSize, kReservedTokens);
  if (o.min_frequency < 1) fail("minimum frequency {} must be at least 1", o.min_frequency);
  if (!(o.character_coverage > 0.0 && o.character_coverage <= 1.0))
    fail("character coverage {} must be in (0, 1]", o.character_coverage);
  if (o.max_piece_chars < 2) fail("maximum piece length {} must be at least 2", o.max_piece_chars);
}

uint64_t pair_key(int32_t left, int32_t right) {
  return uint64_t{static_cast<uint32_t>(left)} << 32 | static_cast<uint32_t>(right);
}
int32_t left_of(uint64_t key) {
  return static_cast<int32_t>(key >> 32);
}
int32_t right_of(uint64_t key) {
  return static_cast<int32_t>(key & 0xFFFFFFFFu);
}

// A character or a learned piece; characters below the thresholds are symbols without a piece.
struct Symbol {
  std::string text;
  int32_t chars = 1;
  int32_t merge_rank = -1;  // k for the k-th learned piece, -1 for characters
  bool in_vocab = false;
};

struct Word {
  std::vector<int32_t> symbols;
  int64_t count = 0;
};

struct PairStat {
  int64_t count = 0;
  std::vector<uint32_t> words;  // words that contain the pair (or did: checked when used)
};

struct HeapEntry {
  int64_t count = 0;
  uint64_t key = 0;
};

// std::priority_queue order: the top is the highest count, then the smallest key.
struct LessFrequent {
  bool operator()(const HeapEntry& a, const HeapEntry& b) const {
    return a.count != b.count ? a.count < b.count : a.key > b.key;
  }
};

// One pending merge inside a word: key = merge rank << 32 | position of the left symbol, so the
// smallest key is the best-scoring piece, leftmost among equals (as in spm_merge.cpp).
struct Candidate {
  uint64_t key = 0;
  int32_t right = 0;
  int32_t left_symbol = 0;  // the symbols the candidate joins: it is stale once either changed
  int32_t right_symbol = 0;
  int32_t merged = 0;

  int32_t left() const { return static_cast<int32_t>(key & 0xFFFFFFFFu); }
};

struct LaterCandidate {
  bool operator()(const Candidate& a, const Candidate& b) const { return a.key > b.key; }
};

// The learner's state: symbols, words as symbol sequences, pair counts and the heap.
class BpeLearner {
 public:
  BpeLearner(const VocabTrainerOptions& options,
             const std::vector<std::pair<std::string, int64_t>>& words, int32_t piece_budget)
      : options_(options) {
    choose_characters(words, piece_budget);
    segment_into_characters(words);
    count_initial_pairs();
  }

  // Learns up to max_merges pieces; stops early when no pair occurs min_frequency times.
  void learn(int32_t max_merges, const VocabTrainer::Progress& progress) {
    while (static_cast<int32_t>(merges_.size()) < max_merges) {
      const auto best = pop_most_frequent_pair();
      if (!best) break;
      add_piece(*best);
      if (progress) progress(static_cast<int32_t>(merges_.size()), max_merges);
    }
  }

  int32_t character_pieces() const { return static_cast<int32_t>(characters_.size()); }

  // The corpus in tokens: a piece is one token, a symbol without a piece one per byte.
  uint64_t corpus_tokens() const {
    uint64_t tokens = 0;
    for (const Word& w : words_) {
      uint64_t per_word = 0;
      for (const int32_t s : w.symbols)
        per_word += symbols_[s].in_vocab ? 1 : symbols_[s].text.size();
      tokens += per_word * static_cast<uint64_t>(w.count);
    }
    return tokens;
  }

  // Learned pieces in merge order, then characters, with scores that rank them so.
  void append_pieces(LearnedVocab& out) const {
    Vocab& vocab = out.vocab;
    float score = 0.0f;
    for (const uint64_t key : merges_) {
      const std::string& left = symbols_[left_of(key)].text;
      const std::string& right = symbols_[right_of(key)].text;
      out.merges.emplace_back(left, right);
      add_normal_piece(vocab, left + right, score);
      score -= 1.0f;
    }
    // Characters are never the result of a merge, so their scores do not change segmentation;
    // below all merges, as SentencePiece orders them.
    for (const int32_t c : characters_) {
      add_normal_piece(vocab, symbols_[c].text, score);
      score -= 1.0f;
    }
  }

 private:
  static void add_normal_piece(Vocab& vocab, const std::string& piece, float score) {
    vocab.pieces.push_back(piece);
    vocab.scores.push_back(score);
    vocab.kinds.push_back(TokenKind::Normal);
  }

  // Characters by frequency (ties: byte order); pieces for the most frequent ones, until they
  // cover the requested share of the text, are at least min_frequency, and fit in the budget.
  void choose_characters(const std::vector<std::pair<std::string, int64_t>>& words,
                         int32_t piece_budget) {
    std::unordered_map<std::string_view, int64_t> counts;
    int64_t total = 0;
    for (const auto& [word, count] : words) {
      for (const auto ch : split_characters(word)) {
        counts[ch] += count;
        total += count;
      }
    }
    std::vector<std::pair<std::string_view, int64_t>> ranked(counts.begin(), counts.end());
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    const auto wanted = static_cast<double>(total) * options_.character_coverage;
    int64_t covered = 0;
    for (const auto& [ch, count] : ranked) {
      const bool valid_utf8 = utf8_char_length(ch) == ch.size() &&
                              (ch.size() > 1 || static_cast<unsigned char>(ch[0]) < 0x80);
      const bool wanted_more = static_cast<double>(covered) < wanted;
      const bool fits = static_cast<int32_t>(characters_.size()) < piece_budget;
      const bool in_vocab = valid_utf8 && wanted_more && fits && count >= options_.min_frequency;
      const int32_t id = add_symbol(std::string(ch), 1, -1, in_vocab);
      if (in_vocab) {
        characters_.push_back(id);
        covered += count;
      }
    }
  }

  int32_t add_symbol(std::string text, int32_t chars, int32_t merge_rank, bool in_vocab) {
    const auto id = static_cast<int32_t>(symbols_.size());
    symbol_ids_.emplace(text, id);
    symbols_.push_back({std::move(text), chars, merge_rank, in_vocab});
    return id;
  }

  void segment_into_characters(const std::vector<std::pair<std::string, int64_t>>& words) {
    words_.reserve(words.size());
    for (const auto& [text, count] : words) {
      Word w;
      w.count = count;
      for (const auto ch : split_characters(text))
        w.symbols.push_back(symbol_ids_.at(std::string(ch)));
      words_.push_back(std::move(w));
    }
    touched_in_step_.assign(words_.size(), 0);
  }

  // Pairs that may become pieces: both sides have pieces, and the result is not too long.
  bool is_candidate_pair(int32_t left, int32_t right) const {
    const Symbol& l = symbols_[left];
    const Symbol& r = symbols_[right];
    return l.in_vocab && r.in_vocab && l.chars + r.chars <= options_.max_piece_chars;
  }

  PairStat& pair_stat(uint64_t key) {
    const auto [it, added] = pair_index_.try_emplace(key, static_cast<uint32_t>(pairs_.size()));
    if (added) pairs_.emplace_back();
    return pairs_[it->second];
  }

  int64_t pair_count(uint64_t key) const {
    const auto it = pair_index_.find(key);
    return it == pair_index_.end() ? 0 : pairs_[it->second].count;
  }

  void count_initial_pairs() {
    for (size_t w = 0; w < words_.size(); ++w) {
      const auto& s = words_[w].symbols;
      for (size_t i = 0; i + 1 < s.size(); ++i) {
        if (!is_candidate_pair(s[i], s[i + 1])) continue;
        PairStat& stat = pair_stat(pair_key(s[i], s[i + 1]));
        stat.count += words_[w].count;
        if (stat.words.empty() || stat.words.back() != w)
          stat.words.push_back(static_cast<uint32_t>(w));
      }
    }
    for (const auto& [key, index] : pair_index_) heap_.push({pairs_[index].count, key});
  }

  std::optional<uint64_t> pop_most_frequent_pair() {
    while (!heap_.empty()) {
      const HeapEntry top = heap_.top();
      heap_.pop();
      const int64_t count = pair_count(top.key);
      if (count != top.count) {
        // An entry from before the count dropped: queue the current count instead. (A count
        // that rose has a newer entry already.)
        if (count > 0 && count < top.count) heap_.push({count, top.key});
        continue;
      }
      if (count < options_.min_frequency) return std::nullopt;  // the best left is too rare
      if (is_reserved_piece(symbols_[left_of(top.key)].text + symbols_[right_of(top.key)].text))
        continue;  // never merged: its entry is dropped for good (until its count rises again)
      return top.key;
    }
    return std::nullopt;
  }

  void add_piece(uint64_t key) {
    const Symbol& left = symbols_[left_of(key)];
    const Symbol& right = symbols_[right_of(key)];
    std::string text = left.text + right.text;
    const int32_t chars = left.chars + right.chars;
    const int32_t piece =
        add_symbol(std::move(text), chars, static_cast<int32_t>(merges_.size()), true);
    merges_.push_back(key);
    const std::vector<uint64_t> splits = register_splits(piece);
    ++step_;
    for (const uint32_t w : words_containing(splits)) resegment(w, splits);
    apply_step_changes();
  }

  // Every way to write the piece as two pieces; the encoder merges any of them into it.
  std::vector<uint64_t> register_splits(int32_t piece) {
    const std::string text = symbols_[piece].text;
    std::vector<uint64_t> splits;
    for (size_t cut = utf8_char_length(text); cut < text.size();
         cut += utf8_char_length(std::string_view(text).substr(cut))) {
      const auto l = symbol_ids_.find(text.substr(0, cut));
      const auto r = symbol_ids_.find(text.substr(cut));
      if (l == symbol_ids_.end() || r == symbol_ids_.end()) continue;
      if (!symbols_[l->second].in_vocab || !symbols_[r->second].in_vocab) continue;
      const uint64_t split = pair_key(l->second, r->second);
      splits.push_back(split);
      piece_of_pair_[split] = piece;  // may replace a cached "no piece"
    }
    return splits;
  }

  // Copied out: resegment() adds pairs, which may move the pair table.
  std::vector<uint32_t> words_containing(const std::vector<uint64_t>& splits) {
    std::vector<uint32_t> words;
    for (const uint64_t split : splits) {
      const auto it = pair_index_.find(split);
      if (it == pair_index_.end()) continue;
      for (const uint32_t w : pairs_[it->second].words) {
        if (touched_in_step_[w] == step_) continue;
        touched_in_step_[w] = step_;
        words.push_back(w);
      }
    }
    return words;
  }

  // The piece two adjacent symbols merge into, or -1 (cached: asked again and again).
  int32_t piece_of_pair(int32_t left, int32_t right) {
    if (!symbols_[left].in_vocab || !symbols_[right].in_vocab) return -1;
    if (symbols_[left].chars + symbols_[right].chars > options_.max_piece_chars) return -1;
    const uint64_t key = pair_key(left, right);
    const auto cached = piece_of_pair_.find(key);
    if (cached != piece_of_pair_.end()) return cached->second;
    const auto it = symbol_ids_.find(symbols_[left].text + symbols_[right].text);
    const int32_t piece = it == symbol_ids_.end() ? -1 : it->second;
    piece_of_pair_.emplace(key, piece);
    return piece;
  }

  // Segments word w again after a new piece, as the SPM encoder would (see the top of the file),
  // and records how its pairs changed.
  void resegment(uint32_t w, const std::vector<uint64_t>& splits) {
    Word& word = words_[w];
    const auto n = static_cast<int32_t>(word.symbols.size());
    symbols_now_ = word.symbols;
    next_.resize(static_cast<size_t>(n));
    prev_.resize(static_cast<size_t>(n));
    changed_.assign(static_cast<size_t>(n), false);
    candidates_.clear();
    for (int32_t i = 0; i < n; ++i) {
      next_[i] = i + 1 < n ? i + 1 : -1;
      prev_[i] = i - 1;
    }
    for (int32_t i = 0; i + 1 < n; ++i) {
      const uint64_t key = pair_key(symbols_now_[i], symbols_now_[i + 1]);
      if (std::find(splits.begin(), splits.end(), key) != splits.end()) queue_candidate(i, i + 1);
    }
    if (candidates_.empty()) return;  // an outdated entry in the pair's word list
    while (!candidates_.empty()) {
      std::pop_heap(candidates_.begin(), candidates_.end(), LaterCandidate());
      const Candidate c = candidates_.back();
      candidates_.pop_back();
      if (!is_stale(c)) merge(c);
    }
    record_changes(w);
  }

  void queue_candidate(int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const int32_t merged = piece_of_pair(symbols_now_[left], symbols_now_[right]);
    if (merged < 0) return;
    const auto rank = static_cast<uint32_t>(symbols_[merged].merge_rank);
    candidates_.push_back({uint64_t{rank} << 32 | static_cast<uint32_t>(left), right,
                           symbols_now_[left], symbols_now_[right], merged});
    std::push_heap(candidates_.begin(), candidates_.end(), LaterCandidate());
  }

  // Symbols only grow, so a symbol id seen again at a position means nothing changed there.
  bool is_stale(const Candidate& c) const {
    const int32_t left = c.left();
    return next_[left] != c.right || symbols_now_[left] != c.left_symbol ||
           symbols_now_[c.right] != c.right_symbol;
  }

  void merge(const Candidate& c) {
    const int32_t left = c.left();
    symbols_now_[left] = c.merged;
    symbols_now_[c.right] = -1;  // merged away
    changed_[left] = changed_[c.right] = true;
    next_[left] = next_[c.right];
    if (next_[left] >= 0) prev_[next_[left]] = left;
    queue_candidate(prev_[left], left);
    queue_candidate(left, next_[left]);
  }

  // Pairs that lost or gained an occurrence: those next to a merge. Two unchanged neighbours were
  // neighbours before, too.
  void record_changes(uint32_t w) {
    Word& word = words_[w];
    const auto& before = word.symbols;
    for (size_t i = 0; i + 1 < before.size(); ++i) {
      if ((changed_[i] || changed_[i + 1]) && is_candidate_pair(before[i], before[i + 1]))
        step_delta_[pair_key(before[i], before[i + 1])] -= word.count;
    }
    std::vector<int32_t> after;
    for (int32_t i = 0; i >= 0; i = next_[i]) {
      const int32_t next = next_[i];
      after.push_back(symbols_now_[i]);
      if (next < 0 || !(changed_[i] || changed_[next])) continue;
      if (!is_candidate_pair(symbols_now_[i], symbols_now_[next])) continue;
      const uint64_t key = pair_key(symbols_now_[i], symbols_now_[next]);
      step_delta_[key] += word.count;
      step_postings_.emplace_back(key, w);
    }
    word.symbols = std::move(after);
  }

  void apply_step_changes() {
    for (const auto& [key, w] : step_postings_) {
      auto& words = pair_stat(key).words;
      if (words.empty() || words.back() != w) words.push_back(w);
    }
    step_postings_.clear();
    for (const auto& [key, delta] : step_delta_) {
      if (delta == 0) continue;
      PairStat& stat = pair_stat(key);
      stat.count += delta;
      if (delta > 0) heap_.push({stat.count, key});
      if (stat.count == 0) std::vector<uint32_t>().swap(stat.words);  // gone from every word
    }
    step_delta_.clear();
  }

  const VocabTrainerOptions& options_;
  std::vector<Symbol> symbols_;
  std::unordered_map<std::string, int32_t> symbol_ids_;
  std::vector<int32_t> characters_;  // symbols with a character piece, most frequent first
  std::vector<uint64_t> merges_;     // the pairs learned, in order
  std::vector<Word> words_;

  std::unordered_map<uint64_t, uint32_t> pair_index_;  // pair -> pairs_
  std::vector<PairStat> pairs_;
  std::priority_queue<HeapEntry, std::vector<HeapEntry>, LessFrequent> heap_;
  std::unordered_map<uint64_t, int32_t> piece_of_pair_;

  // One merge step: words already visited, and the changes to apply once all are done.
  uint32_t step_ = 0;
  std::vector<uint32_t> touched_in_step_;
  std::unordered_map<uint64_t, int64_t> step_delta_;
  std::vector<std::pair<uint64_t, uint32_t>> step_postings_;

  // Scratch for resegment(), reused across words.
  std::vector<int32_t> symbols_now_, next_, prev_;
  std::vector<bool> changed_;
  std::vector<Candidate> candidates_;
};

Vocab reserved_tokens() {
  Vocab v;
  v.model = "llama";
  v.pieces = {"<unk>", "<s>", "</s>"};
  v.kinds = {TokenKind::Unknown, TokenKind::Control, TokenKind::Control};
  v.scores = {0.0f, 0.0f, 0.0f};
  for (int b = 0; b < kByteTokens; ++b) {
    v.pieces.push_back(fmt::format("<0x{:02X}>", b));
    v.kinds.push_back(TokenKind::Byte);
    v.scores.push_back(0.0f);
  }
  v.unk = 0;
  v.bos = 1;
  v.eos = 2;
  v.add_bos = true;
  v.add_eos = false;
  v.add_space_prefix = true;
  return v;
}

// Mapped like every other corpus (ngram build, train, perplexity): a named pipe, a device or a
// socket is refused before it could block or be read without end.
std::string read_corpus_file(const std::string& path, uint64_t max_bytes) {
  const auto file = MappedFile::open(path);
  std::string_view text(reinterpret_cast<const char*>(file->bytes().data()), file->bytes().size());
  if (text.empty()) fail("{}: the corpus file is empty", path);
  if (max_bytes > 0 && text.size() > max_bytes) {
    size_t cut = static_cast<size_t>(max_bytes);
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text = text.substr(0, cut);
  }
  return std::string(text);
}

}  // namespace

std::vector<std::string_view> split_training_words(std::string_view normalized) {
  std::vector<std::string_view> words;
  size_t word_begin = 0;
  CharClass previous = CharClass::Other;
  for (size_t pos = 0; pos < normalized.size();) {
    const size_t length = utf8_char_length(normalized.substr(pos));
    const CharClass current = char_class(normalized.substr(pos, length));
    if (pos > 0 && starts_word(previous, current)) {
      words.push_back(normalized.substr(word_begin, pos - word_begin));
      word_begin = pos;
    }
    previous = current;
    pos += length;
  }
  if (word_begin < normalized.size()) words.push_back(normalized.substr(word_begin));
  return words;
}

std::vector<std::string> training_words(std::string_view document) {
  const std::string normalized = spm_normalize(document, /*add_space_prefix=*/true);
  const std::vector<std::string_view> words = split_training_words(normalized);
  return {words.begin(), words.end()};
}

VocabTrainer::VocabTrainer(VocabTrainerOptions options) : options_(options) {
  check_options(options_);
}

void VocabTrainer::add_text(std::string_view text, std::string_view name) {
  const size_t nul = text.find('\0');
  if (nul != std::string_view::npos)
    fail("{}: binary data (a NUL byte at offset {}); the corpus must be text", name, nul);
  if (text.empty()) return;
  for (std::string& word : training_words(text)) ++word_counts_[std::move(word)];
  ++stats_.documents;
  stats_.corpus_bytes += text.size();
  stats_.corpus_chars += count_characters(text);
}

uint64_t VocabTrainer::add_file(const std::string& path, uint64_t max_bytes) {
  const std::string text = read_corpus_file(path, max_bytes);
  add_text(text, path);
  return text.size();
}

LearnedVocab VocabTrainer::train(const Progress& progress) const {
  if (word_counts_.empty()) fail("no corpus text to learn a vocabulary from");
  // Sorted, so that nothing depends on the hash map's order.
  std::vector<std::pair<std::string, int64_t>> words(word_counts_.begin(), word_counts_.end());
  std::sort(words.begin(), words.end());

  const int32_t piece_budget = options_.vocab_size - kReservedTokens;
  BpeLearner learner(options_, words, piece_budget);
  learner.learn(piece_budget - learner.character_pieces(), progress);

  LearnedVocab out;
  out.vocab = reserved_tokens();
  learner.append_pieces(out);
  for (int32_t id = 0; id < out.vocab.size(); ++id)
    out.vocab.piece_to_id.emplace(out.vocab.pieces[static_cast<size_t>(id)], id);
  out.stats = stats_;
  out.stats.distinct_words = words.size();
  out.stats.character_pieces = learner.character_pieces();
  out.stats.merges = static_cast<int32_t>(out.merges.size());
  out.stats.corpus_tokens = learner.corpus_tokens();
  return out;
}

void set_vocab_metadata(GgufWriter& writer, const Vocab& vocab) {
  write_vocab_core(writer, vocab);
  writer.set_bool(vocab_key::kAddBos, vocab.add_bos);
  writer.set_bool(vocab_key::kAddEos, vocab.add_eos);
  writer.set_bool(vocab_key::kAddSpacePrefix, vocab.add_space_prefix);
}

}  // namespace aded
