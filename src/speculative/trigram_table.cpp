#include "aded/trigram_table.h"

#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "aded/error.h"
#include "core/output_file.h"

namespace aded {

namespace {

constexpr char kMagic[8] = {'A', 'D', 'E', 'D', 'T', 'R', 'I', '1'};
constexpr uint32_t kVersion = 1;

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t vocab_size;
  uint64_t vocab_fingerprint;
  uint32_t top_k;
  uint32_t reserved;
  uint64_t n_keys;
  uint64_t n_entries;
  uint64_t corpus_tokens;
};
static_assert(sizeof(Header) == 56);

size_t align8(size_t x) { return (x + 7) / 8 * 8; }

struct Layout {
  size_t keys, offsets, tokens, counts, totals, end;
};

Layout layout(uint64_t n_keys, uint64_t n_entries) {
  Layout l{};
  l.keys = align8(sizeof(Header));
  l.offsets = l.keys + n_keys * 8;
  l.tokens = align8(l.offsets + (n_keys + 1) * 4);
  l.counts = l.tokens + n_entries * 4;
  l.totals = l.counts + n_entries * 4;
  l.end = l.totals + n_keys * 4;
  return l;
}

}  // namespace

uint64_t vocab_fingerprint(const Vocab& vocab) {
  XXH64_state_t* state = XXH64_createState();
  XXH64_reset(state, 0);
  for (const auto& p : vocab.pieces) {
    const uint64_t len = p.size();
    XXH64_update(state, &len, sizeof(len));
    XXH64_update(state, p.data(), p.size());
  }
  const uint64_t h = XXH64_digest(state);
  XXH64_freeState(state);
  return h;
}

std::shared_ptr<const TrigramTable> TrigramTable::open(const std::string& path, const Vocab* vocab, int top_k) {
  return open(MappedFile::open(path), vocab, top_k);
}

std::shared_ptr<const TrigramTable> TrigramTable::open(std::shared_ptr<const MappedFile> file, const Vocab* vocab,
                                                       int top_k) {
  const std::string& path = file->path();
  auto t = std::shared_ptr<TrigramTable>(new TrigramTable());
  t->file_ = std::move(file);
  const auto bytes = t->file_->bytes();
  if (bytes.size() < sizeof(Header)) fail("{}: too small to be an n-gram table ({} bytes)", path, bytes.size());
  Header h;
  std::memcpy(&h, bytes.data(), sizeof(h));
  if (std::memcmp(h.magic, kMagic, 8) != 0) fail("{}: not an aded n-gram table (bad magic)", path);
  if (h.version != kVersion) fail("{}: n-gram table version {} is not supported (expected {})", path, h.version, kVersion);
  // The builder refuses larger vocabularies; the lookup index has one entry per token.
  if (h.vocab_size > (1u << 21)) fail("{}: corrupt n-gram table (vocabulary of {} tokens)", path, h.vocab_size);
  if (h.n_keys > bytes.size() / 12 || h.n_entries > bytes.size() / 8)
    fail("{}: corrupt n-gram table (counts larger than the file)", path);
  const Layout l = layout(h.n_keys, h.n_entries);
  if (l.end != bytes.size())
    fail("{}: corrupt or truncated n-gram table ({} bytes, header says {})", path, bytes.size(), l.end);
  if (vocab) {
    // Same size but other pieces shows as a fingerprint mismatch: say so rather than "512 than 512".
    if (h.vocab_size != static_cast<uint32_t>(vocab->size()))
      fail("{}: this n-gram table was built for another vocabulary ({} tokens) than the model's ({} tokens); "
           "rebuild it with 'aded ngram build -m MODEL'",
           path, h.vocab_size, vocab->size());
    if (h.vocab_fingerprint != vocab_fingerprint(*vocab))
      fail("{}: this n-gram table was built for another vocabulary of the same size ({} tokens, other pieces) "
           "than the model's; rebuild it with 'aded ngram build -m MODEL'",
           path, h.vocab_size);
  }
  t->keys_ = reinterpret_cast<const uint64_t*>(bytes.data() + l.keys);
  t->offsets_ = reinterpret_cast<const uint32_t*>(bytes.data() + l.offsets);
  t->tokens_ = reinterpret_cast<const uint32_t*>(bytes.data() + l.tokens);
  t->counts_ = reinterpret_cast<const uint32_t*>(bytes.data() + l.counts);
  t->totals_ = reinterpret_cast<const uint32_t*>(bytes.data() + l.totals);
  t->n_keys_ = h.n_keys;
  t->n_entries_ = h.n_entries;
  t->corpus_tokens_ = h.corpus_tokens;
  t->vocab_size_ = h.vocab_size;
  t->stored_top_k_ = h.top_k;
  t->top_k_ = top_k > 0 ? static_cast<uint32_t>(top_k) : h.top_k;
  // Validate the structure once, so lookups can trust it.
  if (t->offsets_[0] != 0 || t->offsets_[h.n_keys] != h.n_entries) fail("{}: corrupt n-gram table (offsets)", path);
  for (uint64_t k = 0; k < h.n_keys; ++k) {
    if (t->offsets_[k] > t->offsets_[k + 1]) fail("{}: corrupt n-gram table (offsets not increasing)", path);
    if (k > 0 && t->keys_[k - 1] >= t->keys_[k]) fail("{}: corrupt n-gram table (keys not sorted)", path);
    if ((t->keys_[k] >> 32) >= h.vocab_size || (t->keys_[k] & 0xffffffffu) >= h.vocab_size)
      fail("{}: corrupt n-gram table (key {} has a token outside the vocabulary)", path, k);
    // Counts come most frequent first and never exceed the pair's total (P = count / total <= 1).
    uint64_t sum = 0;
    for (uint32_t e = t->offsets_[k]; e < t->offsets_[k + 1]; ++e) {
      if (t->counts_[e] == 0 || (e > t->offsets_[k] && t->counts_[e] > t->counts_[e - 1]))
        fail("{}: corrupt n-gram table (successor counts of key {} are not positive and decreasing)", path, k);
      sum += t->counts_[e];
    }
    if (t->offsets_[k] < t->offsets_[k + 1] && (t->totals_[k] == 0 || sum > t->totals_[k]))
      fail("{}: corrupt n-gram table (the total of key {} is smaller than its counts)", path, k);
  }
  for (uint64_t e = 0; e < h.n_entries; ++e)
    if (t->tokens_[e] >= h.vocab_size) fail("{}: corrupt n-gram table (token {} outside the vocabulary)", path, t->tokens_[e]);
  // Where the keys of each first token start: a lookup then searches only the few keys that share
  // it (a few cache lines) instead of the whole key array (~20 misses in a table of millions).
  t->first_.assign(static_cast<size_t>(h.vocab_size) + 1, 0);
  for (uint64_t k = 0; k < h.n_keys; ++k) ++t->first_[static_cast<size_t>(t->keys_[k] >> 32) + 1];
  for (size_t a = 1; a < t->first_.size(); ++a) t->first_[a] += t->first_[a - 1];
  return t;
}

TrigramTable::Successors TrigramTable::find(int32_t a, int32_t b) const {
  if (a < 0 || static_cast<uint32_t>(a) >= vocab_size_) return {};
  const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  const uint64_t* end = keys_ + first_[static_cast<size_t>(a) + 1];
  const uint64_t* it = std::lower_bound(keys_ + first_[static_cast<size_t>(a)], end, key);
  if (it == end || *it != key) return {};
  const auto k = static_cast<size_t>(it - keys_);
  const uint32_t begin = offsets_[k];
  const uint32_t n = std::min(offsets_[k + 1] - begin, top_k_);
  return {tokens_ + begin, counts_ + begin, n, totals_[k]};
}

// ------------------------------------------------------------------------------------ builder

TrigramTableBuilder::TrigramTableBuilder(const Tokenizer& tokenizer, int top_k) : tok_(tokenizer), top_k_(top_k) {
  if (top_k < 1 || top_k > 1024) fail("--top-k must be between 1 and 1024, not {}", top_k);
  if (tokenizer.size() > (1 << 21)) fail("vocabularies above 2M tokens are not supported by the n-gram table");
}

void TrigramTableBuilder::add_document(std::string_view text) {
  if (token_limit_ && tokens_ >= token_limit_) return;
  const std::vector<int32_t> ids = tok_.encode(text, /*add_bos=*/tok_.bos() >= 0);
  ++documents_;
  for (size_t i = 0; i + 2 < ids.size(); ++i) {
    const auto a = static_cast<uint64_t>(ids[i]), b = static_cast<uint64_t>(ids[i + 1]),
               c = static_cast<uint64_t>(ids[i + 2]);
    trigrams_.push_back(a << 42 | b << 21 | c);
  }
  tokens_ += ids.size();
}

void for_each_corpus_document(const std::string& path, const std::function<bool(std::string_view)>& document,
                              const std::function<void(size_t, size_t)>& progress) {
  const auto file = MappedFile::open(path);
  const std::string_view text(reinterpret_cast<const char*>(file->bytes().data()), file->bytes().size());
  if (text.empty()) fail("{}: the corpus file is empty", path);
  if (text.find('\0') != std::string_view::npos) fail("{}: the corpus contains NUL bytes (a binary file?)", path);
  constexpr std::string_view kSeparator = "# ==== file: ";
  size_t start = 0;
  while (start < text.size()) {
    // The next document ends where a separator line starts.
    size_t next = text.find(kSeparator, start);
    while (next != std::string_view::npos && next != 0 && text[next - 1] != '\n') next = text.find(kSeparator, next + 1);
    if (next == start) {  // skip the separator line itself
      const size_t eol = text.find('\n', start);
      start = eol == std::string_view::npos ? text.size() : eol + 1;
      continue;
    }
    const size_t end = next == std::string_view::npos ? text.size() : next;
    const bool more = document(text.substr(start, end - start));
    start = end;
    if (progress) progress(start, text.size());
    if (!more) break;
  }
}

void TrigramTableBuilder::add_file(const std::string& path, const std::function<void(size_t, size_t)>& progress) {
  for_each_corpus_document(
      path,
      [&](std::string_view doc) {
        add_document(doc);
        return !(token_limit_ && tokens_ >= token_limit_);
      },
      progress);
}

TrigramBuildStats TrigramTableBuilder::write(const std::string& path) {
  const auto start = std::chrono::steady_clock::now();
  std::sort(trigrams_.begin(), trigrams_.end());
  constexpr uint64_t kMask = (1u << 21) - 1;
  std::vector<uint64_t> keys;
  std::vector<uint32_t> offsets{0}, tokens, counts, totals;
  std::vector<std::pair<uint32_t, uint32_t>> successors;  // (count, token) of the current key
  auto flush = [&](uint64_t key) {
    std::stable_sort(successors.begin(), successors.end(),
                     [](const auto& x, const auto& y) { return x.first > y.first; });
    uint64_t total = 0;
    for (const auto& s : successors) total += s.first;
    keys.push_back(key);
    totals.push_back(static_cast<uint32_t>(std::min<uint64_t>(total, UINT32_MAX)));
    for (size_t i = 0; i < successors.size() && i < static_cast<size_t>(top_k_); ++i) {
      tokens.push_back(successors[i].second);
      counts.push_back(successors[i].first);
    }
    offsets.push_back(static_cast<uint32_t>(tokens.size()));
    successors.clear();
  };
  for (size_t i = 0; i < trigrams_.size();) {
    size_t j = i;
    while (j < trigrams_.size() && trigrams_[j] == trigrams_[i]) ++j;
    const uint64_t t = trigrams_[i];
    const uint64_t key = ((t >> 42) & kMask) << 32 | ((t >> 21) & kMask);
    successors.emplace_back(static_cast<uint32_t>(std::min<size_t>(j - i, UINT32_MAX)), static_cast<uint32_t>(t & kMask));
    const bool key_ends = j == trigrams_.size() || (((trigrams_[j] >> 42) & kMask) << 32 | ((trigrams_[j] >> 21) & kMask)) != key;
    if (key_ends) flush(key);
    i = j;
  }

  Header h{};
  std::memcpy(h.magic, kMagic, 8);
  h.version = kVersion;
  h.vocab_size = static_cast<uint32_t>(tok_.size());
  h.vocab_fingerprint = vocab_fingerprint(tok_.vocab());
  h.top_k = static_cast<uint32_t>(top_k_);
  h.n_keys = keys.size();
  h.n_entries = tokens.size();
  h.corpus_tokens = tokens_;
  const Layout l = layout(h.n_keys, h.n_entries);
  std::vector<uint8_t> out(l.end, 0);
  std::memcpy(out.data(), &h, sizeof(h));
  // An empty table has empty arrays, whose data() may be null: memcpy must not see those.
  auto put = [&out](size_t at, const auto& values) {
    if (!values.empty()) std::memcpy(out.data() + at, values.data(), values.size() * sizeof(values[0]));
  };
  put(l.keys, keys);
  put(l.offsets, offsets);
  put(l.tokens, tokens);
  put(l.counts, counts);
  put(l.totals, totals);
  write_output_file(path, std::span<const uint8_t>(out));
  TrigramBuildStats s;
  s.documents = documents_;
  s.tokens = tokens_;
  s.keys = h.n_keys;
  s.entries = h.n_entries;
  s.bytes = out.size();
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return s;
}

}  // namespace aded
