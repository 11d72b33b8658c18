// TrigramTableBuilder and TrigramTable: exact counts and totals, top-k pruning without
// renormalization, document boundaries, the vocabulary fingerprint, and files that are corrupt,
// truncated or random (always an InputError, never a crash).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <random>

#include "aded/aded_drafter.h"
#include "aded/error.h"
#include "aded/trigram_table.h"
#include "speculative/spec_support.h"

namespace aded {
namespace {

namespace fs = std::filesystem;
using spec_testing::tiny_model;

const std::vector<std::string> kDocs = {
    "the cat sat on the mat. the cat sat on the hat. the cat ate the rat.",
    "a dog and a cat and a dog and a bird",
    "the cat sat",
    "zzzz zzzz zzzz zzzz",
};

using Counts = std::map<std::pair<int32_t, int32_t>, std::map<int32_t, uint32_t>>;

// Tri-gram counts of each document tokenized with BOS, computed independently of the builder.
Counts count_trigrams(const Tokenizer& tok, const std::vector<std::string>& docs, uint64_t* tokens = nullptr) {
  Counts c;
  uint64_t n = 0;
  for (const auto& d : docs) {
    const auto ids = tok.encode(d, true);
    n += ids.size();
    for (size_t i = 0; i + 2 < ids.size(); ++i) ++c[{ids[i], ids[i + 1]}][ids[i + 2]];
  }
  if (tokens) *tokens = n;
  return c;
}

// The successors of one key as the table must store them: count descending, then token ascending.
std::vector<std::pair<uint32_t, uint32_t>> expected_order(const std::map<int32_t, uint32_t>& succ) {
  std::vector<std::pair<uint32_t, uint32_t>> v;  // (token, count)
  for (const auto& [t, n] : succ) v.emplace_back(static_cast<uint32_t>(t), n);
  std::stable_sort(v.begin(), v.end(), [](const auto& x, const auto& y) { return x.second > y.second; });
  return v;
}

std::string build(const Tokenizer& tok, const std::vector<std::string>& docs, int top_k, const fs::path& path,
                  TrigramBuildStats* stats = nullptr) {
  TrigramTableBuilder b(tok, top_k);
  for (const auto& d : docs) b.add_document(d);
  const auto s = b.write(path.string());
  if (stats) *stats = s;
  return path.string();
}

TEST(TrigramTable, CountsTotalsAndProbabilities) {
  const auto model = tiny_model();
  const Tokenizer& tok = model->tokenizer();
  testing::TempDir dir;
  TrigramBuildStats stats;
  const auto path = build(tok, kDocs, 1024, dir / "t.tri", &stats);
  uint64_t tokens = 0;
  const Counts expected = count_trigrams(tok, kDocs, &tokens);
  ASSERT_GT(expected.size(), 10u);

  const auto table = TrigramTable::open(path, &tok.vocab());
  EXPECT_EQ(table->keys(), expected.size());
  EXPECT_EQ(table->corpus_tokens(), tokens);
  EXPECT_EQ(table->vocab_size(), static_cast<uint32_t>(tok.size()));
  EXPECT_EQ(table->stored_top_k(), 1024u);
  EXPECT_EQ(table->file_bytes(), fs::file_size(path));
  EXPECT_EQ(stats.documents, kDocs.size());
  EXPECT_EQ(stats.tokens, tokens);
  EXPECT_EQ(stats.keys, expected.size());
  EXPECT_EQ(stats.bytes, fs::file_size(path));
  uint64_t entries = 0;
  bool some_key_has_several = false;
  for (const auto& [key, succ] : expected) {
    const auto s = table->find(key.first, key.second);
    const auto order = expected_order(succ);
    ASSERT_EQ(s.size, order.size());
    uint32_t total = 0;
    for (const auto& [t, n] : succ) total += n;
    EXPECT_EQ(s.total, total);
    for (uint32_t i = 0; i < s.size; ++i) {
      EXPECT_EQ(s.tokens[i], order[i].first);
      EXPECT_EQ(s.counts[i], order[i].second);
    }
    entries += order.size();
    some_key_has_several |= order.size() > 1;
  }
  EXPECT_EQ(table->entries(), entries);
  EXPECT_EQ(stats.entries, entries);
  EXPECT_TRUE(some_key_has_several) << "the corpus should exercise successor ordering";

  // Without pruning the stored probabilities P(c | a, b) = count / total sum to one per key.
  for (const auto& [key, succ] : expected) {
    const auto s = table->find(key.first, key.second);
    double sum = 0;
    for (uint32_t i = 0; i < s.size; ++i) sum += static_cast<double>(s.counts[i]) / s.total;
    EXPECT_NEAR(sum, 1.0, 1e-12);
  }
}

TEST(TrigramTable, AbsentKeysHaveNoSuccessors) {
  const auto model = tiny_model();
  const Tokenizer& tok = model->tokenizer();
  testing::TempDir dir;
  const auto table = TrigramTable::open(build(tok, kDocs, 8, dir / "t.tri"));
  const Counts expected = count_trigrams(tok, kDocs);
  std::mt19937 rng(5);
  int absent = 0;
  for (int i = 0; i < 2000; ++i) {
    const auto a = static_cast<int32_t>(rng() % 300), b = static_cast<int32_t>(rng() % 300);
    if (expected.count({a, b})) continue;
    ++absent;
    const auto s = table->find(a, b);
    ASSERT_EQ(s.size, 0u);
    ASSERT_EQ(s.total, 0u);
  }
  EXPECT_GT(absent, 1000);
  for (const auto& [a, b] : std::vector<std::pair<int32_t, int32_t>>{{-1, 5}, {5, -1}, {1 << 30, 2}, {0, 0}})
    EXPECT_EQ(table->find(a, b).size, 0u);
  // An empty corpus gives a valid empty table.
  TrigramTableBuilder empty(tok, 4);
  empty.write((dir / "empty.tri").string());
  const auto e = TrigramTable::open((dir / "empty.tri").string(), &tok.vocab());
  EXPECT_EQ(e->keys(), 0u);
  EXPECT_EQ(e->entries(), 0u);
  EXPECT_EQ(e->find(1, 2).size, 0u);
}

TEST(TrigramTable, TopKPrunesWithoutRenormalizing) {
  const auto model = tiny_model();
  const Tokenizer& tok = model->tokenizer();
  testing::TempDir dir;
  // Many successors of the same pair: "x" followed by each letter.
  std::vector<std::string> docs;
  std::string text;
  for (int rep = 0; rep < 6; ++rep)
    for (char c = 'a'; c <= 'a' + rep; ++c) text += std::string(" q ") + c;
  docs.push_back(text);
  const Counts expected = count_trigrams(tok, docs);
  const auto full = TrigramTable::open(build(tok, docs, 1024, dir / "full.tri"));
  const auto pruned = TrigramTable::open(build(tok, docs, 2, dir / "two.tri"));
  const auto loaded1 = TrigramTable::open((dir / "two.tri").string(), nullptr, 1);
  EXPECT_EQ(pruned->stored_top_k(), 2u);
  EXPECT_LT(pruned->entries(), full->entries());
  bool pruned_something = false;
  for (const auto& [key, succ] : expected) {
    const auto f = full->find(key.first, key.second);
    const auto p = pruned->find(key.first, key.second);
    const auto one = loaded1->find(key.first, key.second);
    ASSERT_EQ(p.size, std::min<uint32_t>(2, f.size));
    ASSERT_EQ(one.size, std::min<uint32_t>(1, f.size));
    EXPECT_EQ(p.total, f.total) << "pruning must not renormalize";
    EXPECT_EQ(one.total, f.total);
    for (uint32_t i = 0; i < p.size; ++i) {
      EXPECT_EQ(p.tokens[i], f.tokens[i]);
      EXPECT_EQ(p.counts[i], f.counts[i]);
    }
    if (one.size) {
      EXPECT_EQ(one.tokens[0], f.tokens[0]);
    }
    pruned_something |= f.size > 2;
  }
  EXPECT_TRUE(pruned_something);
  // A load-time top-k larger than what is stored changes nothing.
  const auto big = TrigramTable::open((dir / "two.tri").string(), nullptr, 100);
  for (const auto& [key, succ] : expected) EXPECT_EQ(big->find(key.first, key.second).size, pruned->find(key.first, key.second).size);
}

TEST(TrigramTable, FileSeparatorsSplitDocuments) {
  const auto model = tiny_model();
  const Tokenizer& tok = model->tokenizer();
  testing::TempDir dir;
  const std::string corpus =
      "print(1)\n"
      "# ==== file: a.py\n"
      "x = 1 # ==== file: not a separator\n"
      "y = 2\n"
      "# ==== file: b.py\n"
      "z = 3";
  testing::write_file(dir / "corpus.txt", corpus);
  TrigramTableBuilder from_file(tok, 16);
  std::vector<std::pair<size_t, size_t>> progress;
  from_file.add_file((dir / "corpus.txt").string(), [&](size_t done, size_t total) { progress.emplace_back(done, total); });
  ASSERT_FALSE(progress.empty());
  for (size_t i = 0; i < progress.size(); ++i) {
    EXPECT_EQ(progress[i].second, corpus.size());
    if (i > 0) {
      EXPECT_GT(progress[i].first, progress[i - 1].first);
    }
  }
  EXPECT_EQ(progress.back().first, corpus.size());
  const auto s = from_file.write((dir / "file.tri").string());
  EXPECT_EQ(s.documents, 3u);
  TrigramTableBuilder by_hand(tok, 16);
  for (const char* d : {"print(1)\n", "x = 1 # ==== file: not a separator\ny = 2\n", "z = 3"}) by_hand.add_document(d);
  by_hand.write((dir / "hand.tri").string());
  EXPECT_EQ(testing::read_file(dir / "file.tri"), testing::read_file(dir / "hand.tri"));
  // A leading separator and a trailing one produce no empty documents of their own.
  testing::write_file(dir / "lead.txt", "# ==== file: first.py\nabc\n# ==== file: last.py\n");
  TrigramTableBuilder lead(tok, 16);
  lead.add_file((dir / "lead.txt").string());
  EXPECT_EQ(lead.write((dir / "lead.tri").string()).documents, 1u);
  // A tri-gram across the boundary of two documents is not counted.
  TrigramTableBuilder two(tok, 16);
  two.add_document("ab");
  two.add_document("cd");
  two.write((dir / "two.tri").string());
  const auto t = TrigramTable::open((dir / "two.tri").string());
  const auto ab = tok.encode("ab", true), cd = tok.encode("cd", true);
  EXPECT_EQ(t->find(ab[ab.size() - 2], ab.back()).size, 0u) << "the last pair of a document has no successor";
  EXPECT_EQ(t->keys(), (ab.size() - 2) + (cd.size() - 2));
}

TEST(TrigramTable, CorpusDocumentsSplitAtSeparatorLinesAndStopOnRequest) {
  testing::TempDir dir;
  testing::write_file(dir / "c.txt", "# ==== file: a.py\nA\n# ==== file: b.py\nB1 # ==== file: x\nB2\n# ==== file: c.py\nC");
  std::vector<std::string> docs;
  for_each_corpus_document((dir / "c.txt").string(), [&](std::string_view d) {
    docs.emplace_back(d);
    return true;
  });
  EXPECT_EQ(docs, (std::vector<std::string>{"A\n", "B1 # ==== file: x\nB2\n", "C"}));
  docs.clear();
  for_each_corpus_document((dir / "c.txt").string(), [&](std::string_view d) {
    docs.emplace_back(d);
    return docs.size() < 2;
  });
  EXPECT_EQ(docs.size(), 2u) << "returning false stops the walk";
  EXPECT_THROW(for_each_corpus_document((dir / "none.txt").string(), [](std::string_view) { return true; }), InputError);
}

TEST(TrigramTable, TokenLimitStopsTheCorpus) {
  const auto model = tiny_model();
  const Tokenizer& tok = model->tokenizer();
  testing::TempDir dir;
  TrigramTableBuilder b(tok, 8);
  b.set_token_limit(30);
  for (int i = 0; i < 50; ++i) b.add_document("the cat sat on the mat again and again");
  EXPECT_GE(b.tokens(), 30u);
  const size_t per_doc = tok.encode("the cat sat on the mat again and again", true).size();
  EXPECT_LT(b.tokens(), 30u + per_doc);
  const auto s = b.write((dir / "t.tri").string());
  EXPECT_LT(s.documents, 50u);
}

TEST(TrigramTable, BuilderInputErrors) {
  const auto model = tiny_model();
  const Tokenizer& tok = model->tokenizer();
  testing::TempDir dir;
  EXPECT_THROW(TrigramTableBuilder(tok, 0), InputError);
  EXPECT_THROW(TrigramTableBuilder(tok, 1025), InputError);
  TrigramTableBuilder b(tok, 8);
  EXPECT_THROW(b.add_file((dir / "missing.txt").string()), InputError);
  testing::write_file(dir / "empty.txt", "");
  EXPECT_THROW(b.add_file((dir / "empty.txt").string()), InputError);
  testing::write_file(dir / "nul.txt", std::string("abc\0def", 7));
  EXPECT_THROW(b.add_file((dir / "nul.txt").string()), InputError);
  EXPECT_THROW(b.write((dir / "no-such-dir" / "t.tri").string()), InputError);
}

TEST(TrigramTable, VocabularyMismatchIsAnInputError) {
  const auto model = tiny_model();
  const Tokenizer& tok = model->tokenizer();
  testing::TempDir dir;
  const auto path = build(tok, kDocs, 8, dir / "t.tri");
  EXPECT_NO_THROW(TrigramTable::open(path, &tok.vocab()));
  // Another vocabulary size.
  const auto other = tiny_model(320);
  EXPECT_THROW(TrigramTable::open(path, &other->tokenizer().vocab()), InputError);
  // Same size, one piece differs: only the fingerprint tells.
  Vocab changed = tok.vocab();
  changed.pieces.back() += "x";
  EXPECT_NE(vocab_fingerprint(changed), vocab_fingerprint(tok.vocab()));
  try {
    TrigramTable::open(path, &changed);
    FAIL() << "a table of another vocabulary was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    // Not "(512 tokens) than the model's (512 tokens)": the sizes agree, the pieces do not.
    EXPECT_NE(std::string(e.what()).find("same size"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("than the model's ("), std::string::npos) << e.what();
  }
  try {
    TrigramTable::open(path, &other->tokenizer().vocab());
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("than the model's (320 tokens)"), std::string::npos) << e.what();
  }
}

// ------------------------------------------------------------------------------ corrupt files

struct Raw {
  std::string bytes;
  uint64_t n_keys() const { return get<uint64_t>(32); }
  uint64_t n_entries() const { return get<uint64_t>(40); }
  template <typename T>
  T get(size_t at) const {
    T v;
    std::memcpy(&v, bytes.data() + at, sizeof(T));
    return v;
  }
  template <typename T>
  void set(size_t at, T v) {
    std::memcpy(bytes.data() + at, &v, sizeof(T));
  }
  // Section offsets of the documented layout (header 56 bytes, keys, offsets, tokens, counts, totals).
  size_t keys() const { return 56; }
  size_t offsets() const { return 56 + 8 * n_keys(); }
  size_t tokens() const { return (offsets() + 4 * (n_keys() + 1) + 7) / 8 * 8; }
  size_t counts() const { return tokens() + 4 * n_entries(); }
  size_t totals() const { return counts() + 4 * n_entries(); }
};

class TrigramTableCorrupt : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = tiny_model();
    path_ = build(model_->tokenizer(), kDocs, 8, dir_ / "good.tri");
    good_.bytes = testing::read_file(path_);
    ASSERT_EQ(good_.totals() + 4 * good_.n_keys(), good_.bytes.size()) << "layout assumption";
  }
  // Writes the bytes and expects open() to refuse them with an InputError.
  // with_vocab = false: opened as the fuzz target does, without a model to compare against.
  ::testing::AssertionResult refused(const std::string& bytes, const std::string& what, bool with_vocab = true) {
    const auto p = dir_ / "bad.tri";
    testing::write_file(p, bytes);
    try {
      TrigramTable::open(p.string(), with_vocab ? &model_->tokenizer().vocab() : nullptr);
    } catch (const InputError&) {
      return ::testing::AssertionSuccess();
    } catch (const std::exception& e) {
      return ::testing::AssertionFailure() << what << ": not an InputError: " << e.what();
    }
    return ::testing::AssertionFailure() << what << ": accepted";
  }
  std::shared_ptr<const Model> model_;
  testing::TempDir dir_;
  std::string path_;
  Raw good_;
};

TEST_F(TrigramTableCorrupt, TruncatedOrExtendedFiles) {
  const std::string& b = good_.bytes;
  for (size_t n : {size_t{0}, size_t{1}, size_t{8}, size_t{55}, size_t{56}, size_t{57}, b.size() / 2, b.size() - 4,
                   b.size() - 1})
    EXPECT_TRUE(refused(b.substr(0, n), "truncated to " + std::to_string(n)));
  for (size_t n = 56; n < b.size(); n += 13) ASSERT_TRUE(refused(b.substr(0, n), "truncated to " + std::to_string(n)));
  EXPECT_TRUE(refused(b + std::string(4, '\0'), "4 extra bytes"));
  EXPECT_TRUE(refused(b + std::string(8, '\0'), "8 extra bytes"));
}

TEST_F(TrigramTableCorrupt, HeaderFields) {
  Raw r = good_;
  r.bytes[0] = 'X';
  EXPECT_TRUE(refused(r.bytes, "bad magic"));
  r = good_;
  r.set<uint32_t>(8, 2);
  EXPECT_TRUE(refused(r.bytes, "version 2"));
  r = good_;
  r.set<uint64_t>(32, good_.n_keys() + 1);
  EXPECT_TRUE(refused(r.bytes, "one key more than the file has"));
  r = good_;
  r.set<uint64_t>(40, good_.n_entries() + 1);
  EXPECT_TRUE(refused(r.bytes, "one entry more than the file has"));
  for (uint64_t huge : {uint64_t{1} << 62, ~uint64_t{0}, ~uint64_t{0} / 8, ~uint64_t{0} / 12 + 1}) {
    r = good_;
    r.set<uint64_t>(32, huge);
    EXPECT_TRUE(refused(r.bytes, "n_keys " + std::to_string(huge)));
    r = good_;
    r.set<uint64_t>(40, huge);
    EXPECT_TRUE(refused(r.bytes, "n_entries " + std::to_string(huge)));
  }
  r = good_;
  r.set<uint32_t>(12, r.get<uint32_t>(12) + 1);
  EXPECT_TRUE(refused(r.bytes, "vocabulary size"));
  r = good_;
  r.set<uint64_t>(16, r.get<uint64_t>(16) ^ 1);
  EXPECT_TRUE(refused(r.bytes, "vocabulary fingerprint"));
  // Without a model to compare with, a vocabulary size no builder writes is still corruption (the
  // lookup index would need one entry per token: found by trigram_table_fuzz).
  for (uint32_t huge : {(1u << 21) + 1, ~uint32_t{0}}) {
    r = good_;
    r.set<uint32_t>(12, huge);
    EXPECT_TRUE(refused(r.bytes, "vocabulary size " + std::to_string(huge), false));
  }
}

TEST_F(TrigramTableCorrupt, Structure) {
  ASSERT_GE(good_.n_keys(), 3u);
  Raw r = good_;
  // Keys out of order.
  const auto k0 = r.get<uint64_t>(r.keys()), k1 = r.get<uint64_t>(r.keys() + 8);
  r.set<uint64_t>(r.keys(), k1);
  r.set<uint64_t>(r.keys() + 8, k0);
  EXPECT_TRUE(refused(r.bytes, "keys swapped"));
  r = good_;
  r.set<uint64_t>(r.keys() + 8, k0);
  EXPECT_TRUE(refused(r.bytes, "duplicate key"));
  // Offsets.
  r = good_;
  r.set<uint32_t>(r.offsets(), 1);
  EXPECT_TRUE(refused(r.bytes, "first offset not 0"));
  r = good_;
  r.set<uint32_t>(r.offsets() + 4 * good_.n_keys(), static_cast<uint32_t>(good_.n_entries() - 1));
  EXPECT_TRUE(refused(r.bytes, "last offset not n_entries"));
  r = good_;
  r.set<uint32_t>(r.offsets() + 4, static_cast<uint32_t>(good_.n_entries() + 5));
  EXPECT_TRUE(refused(r.bytes, "offset beyond the entries"));
  // A successor outside the vocabulary.
  r = good_;
  r.set<uint32_t>(r.tokens(), 100000);
  EXPECT_TRUE(refused(r.bytes, "token outside the vocabulary"));
  r = good_;
  r.set<uint32_t>(r.tokens() + 4 * (good_.n_entries() - 1), ~uint32_t{0});
  EXPECT_TRUE(refused(r.bytes, "token -1"));
  // A key whose tokens are outside the vocabulary (still in sorted order: the last key grows).
  const size_t last = r.keys() + 8 * (good_.n_keys() - 1);
  const auto k_last = good_.get<uint64_t>(last);
  r = good_;
  r.set<uint64_t>(last, (k_last | 0xffffffffu));
  EXPECT_TRUE(refused(r.bytes, "second key token outside the vocabulary"));
  r = good_;
  r.set<uint64_t>(last, uint64_t{0xffffffffu} << 32);
  EXPECT_TRUE(refused(r.bytes, "first key token outside the vocabulary"));
}

// P(c | a, b) = count / total must be a probability: a total smaller than the counts it sums (0
// in particular, a division by zero for the drafter) is corruption like any other.
TEST_F(TrigramTableCorrupt, TotalsSmallerThanTheirCounts) {
  Raw r = good_;
  r.set<uint32_t>(r.totals(), 0);
  EXPECT_TRUE(refused(r.bytes, "total 0"));
  r = good_;
  const uint32_t c0 = r.get<uint32_t>(r.counts());
  r.set<uint32_t>(r.totals(), c0 - 1);
  EXPECT_TRUE(refused(r.bytes, "total below the first count"));
}

// What a zero total does when a table carrying one is opened: P = count / 0 makes the drafter's
// successor probabilities inf/NaN, and NaN confidences reach the draft tree and the budget
// controller. Passes once open() refuses such a file, or once the drafter guards against it.
TEST_F(TrigramTableCorrupt, ZeroTotalNeverGivesTheDrafterNonFiniteConfidences) {
  Raw r = good_;
  for (uint64_t k = 0; k < good_.n_keys(); ++k) r.set<uint32_t>(r.totals() + 4 * k, 0);
  const auto p = dir_ / "zero-totals.tri";
  testing::write_file(p, r.bytes);
  std::shared_ptr<const TrigramTable> table;
  try {
    table = TrigramTable::open(p.string(), &model_->tokenizer().vocab());
  } catch (const InputError&) {
    return;  // refused: the right outcome
  }
  const auto ids = model_->tokenizer().encode(kDocs[0], true);
  for (AdedSearch search : {AdedSearch::Mcts, AdedSearch::BestFirst}) {
    AdedOptions o;
    o.search = search;
    o.adapt = false;
    auto d = make_aded_drafter(table, o);
    d->begin(ids);
    DraftTree t;
    d->propose(DraftRequest{ids, 16, 4}, t);
    ASSERT_FALSE(t.empty());
    int bad = 0;
    for (int i = 0; i < t.size(); ++i) bad += !(std::isfinite(t.confidence(i)) && t.confidence(i) >= 0 && t.confidence(i) <= 1);
    EXPECT_EQ(bad, 0) << (search == AdedSearch::Mcts ? "mcts" : "best-first") << ": " << bad << " of " << t.size()
                      << " nodes have a confidence outside [0, 1] (first: " << t.confidence(0) << ")";
  }
}

TEST_F(TrigramTableCorrupt, RandomBytes) {
  std::mt19937_64 rng(99);
  for (size_t size : {size_t{0}, size_t{7}, size_t{56}, size_t{64}, size_t{1000}, size_t{4096}}) {
    std::string bytes(size, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    EXPECT_TRUE(refused(bytes, "random " + std::to_string(size)));
    if (size >= 8) {
      std::memcpy(bytes.data(), good_.bytes.data(), std::min<size_t>(size, 12));  // right magic and version
      EXPECT_TRUE(refused(bytes, "random with a valid magic " + std::to_string(size)));
    }
  }
}

// Random byte flips: open() either refuses the file with an InputError or returns a table whose
// lookups stay inside the file (counts and sizes bounded by what the header declares).
TEST_F(TrigramTableCorrupt, ByteFlipsNeverCrash) {
  std::mt19937_64 rng(7);
  int refused_count = 0, opened = 0;
  const auto p = dir_ / "flip.tri";
  for (int trial = 0; trial < 400; ++trial) {
    std::string bytes = good_.bytes;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] ^= static_cast<char>(1 + rng() % 255);
    testing::write_file(p, bytes);
    std::shared_ptr<const TrigramTable> t;
    try {
      t = TrigramTable::open(p.string());
    } catch (const InputError&) {
      ++refused_count;
      continue;
    }
    ++opened;
    for (int32_t a = 0; a < 300; a += 7)
      for (int32_t b = 0; b < 300; b += 3) {
        const auto s = t->find(a, b);
        ASSERT_LE(s.size, t->entries());
        for (uint32_t i = 0; i < s.size; ++i) ASSERT_LT(s.tokens[i], t->vocab_size());
      }
  }
  EXPECT_GT(refused_count, 0);
  EXPECT_GT(opened, 0);  // flips in counts/totals/fingerprint leave a structurally valid file
}

TEST(TrigramTable, MissingFileIsAnInputError) {
  EXPECT_THROW(TrigramTable::open("/nonexistent/dir/table.tri"), InputError);
}

}  // namespace
}  // namespace aded
