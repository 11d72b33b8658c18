// The static tri-gram table of ADED (../shared/docs/ADED.md section 1): for every token pair (a, b) of a
// corpus, the successors c with their counts, most frequent first, and the pair's total count, so
// P(c | a, b) = count / total (no renormalization after pruning). Stored for mmap: sorted 64-bit
// keys (a << 32 | b), CSR offsets, successor tokens and counts, per-key totals.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aded/mapped_file.h"
#include "aded/tokenizer.h"

namespace aded {

// A fingerprint of a vocabulary (its pieces), to refuse tables built for another one.
uint64_t vocab_fingerprint(const Vocab& vocab);

class TrigramTable {
 public:
  struct Successors {
    const uint32_t* tokens = nullptr;
    const uint32_t* counts = nullptr;
    uint32_t size = 0;   // at most the load-time top-k
    uint32_t total = 0;  // count of the pair (a, b) over all successors
  };

  // Maps and validates a table; throws InputError naming the file and the problem, including a
  // vocabulary that differs from `vocab` (when given). top_k: successors used per pair (0 = all
  // that the file holds).
  static std::shared_ptr<const TrigramTable> open(const std::string& path, const Vocab* vocab = nullptr,
                                                  int top_k = 0);
  // The same for bytes already in memory (messages name file->path()).
  static std::shared_ptr<const TrigramTable> open(std::shared_ptr<const MappedFile> file, const Vocab* vocab = nullptr,
                                                  int top_k = 0);

  Successors find(int32_t a, int32_t b) const;

  uint64_t keys() const { return n_keys_; }
  uint64_t entries() const { return n_entries_; }
  uint64_t corpus_tokens() const { return corpus_tokens_; }
  uint32_t vocab_size() const { return vocab_size_; }
  uint32_t stored_top_k() const { return stored_top_k_; }
  size_t file_bytes() const { return file_->bytes().size(); }

 private:
  std::shared_ptr<const MappedFile> file_;
  const uint64_t* keys_ = nullptr;
  const uint32_t* offsets_ = nullptr;
  const uint32_t* tokens_ = nullptr;
  const uint32_t* counts_ = nullptr;
  const uint32_t* totals_ = nullptr;
  std::vector<uint64_t> first_;  // keys with first token a: [first_[a], first_[a + 1])
  uint64_t n_keys_ = 0, n_entries_ = 0, corpus_tokens_ = 0;
  uint32_t vocab_size_ = 0, stored_top_k_ = 0, top_k_ = 0;
};

// Calls `document` with each document of a corpus file: the whole file, split where a line
// "# ==== file: PATH" (the python corpus' file separators) starts; the separator lines are left
// out. progress(bytes done, bytes total) follows each document; `document` returns false to stop.
// Throws InputError naming the file if it is missing, empty or binary.
void for_each_corpus_document(const std::string& path, const std::function<bool(std::string_view)>& document,
                              const std::function<void(size_t, size_t)>& progress = {});

struct TrigramBuildStats {
  uint64_t documents = 0, tokens = 0, keys = 0, entries = 0, bytes = 0;
  double seconds = 0;
};

// Counts tri-grams of tokenized documents and writes a table. Documents are whole files, except
// that lines "# ==== file: PATH" (the python corpus' file separators) start a new document. Each
// document is tokenized with BOS first, as the models saw their training data.
class TrigramTableBuilder {
 public:
  TrigramTableBuilder(const Tokenizer& tokenizer, int top_k);
  void add_document(std::string_view text);
  // Splits a corpus file into documents; progress(bytes done, bytes total) while tokenizing.
  void add_file(const std::string& path, const std::function<void(size_t, size_t)>& progress = {});
  // Stops adding tokens after this many (0 = no limit): corpus-size ablations.
  void set_token_limit(uint64_t limit) { token_limit_ = limit; }
  uint64_t tokens() const { return tokens_; }
  TrigramBuildStats write(const std::string& path);

 private:
  const Tokenizer& tok_;
  int top_k_;
  uint64_t token_limit_ = 0;
  uint64_t tokens_ = 0, documents_ = 0;
  std::vector<uint64_t> trigrams_;  // packed a << 42 | b << 21 | c
};

}  // namespace aded
