// Training text as token ids: corpus files are split into documents, each document is tokenized
// with the vocabulary's tokenizer and preceded by BOS, and the documents are concatenated. The
// result is cached in a file keyed by a hash of the corpus files and the vocabulary, so a rerun
// (or another model trained on the same data) skips tokenization.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "aded/thread_pool.h"
#include "aded/tokenizer.h"

namespace aded::train {

// The documents of one corpus file. A file made of sections that start with a line
// "# ==== file: PATH" (the python corpus) has one document per section, without that line; any
// other file is one document.
std::vector<std::string_view> split_documents(std::string_view text);

// Throws InputError when a corpus file is empty or does not look like text (NUL bytes, or mostly
// invalid UTF-8).
void check_text_file(std::string_view bytes, const std::string& path);

struct CorpusTokens {
  std::vector<int32_t> tokens;
  uint64_t key = 0;  // hash of the corpus files and the vocabulary
  uint64_t documents = 0;
  uint64_t bytes = 0;
  bool from_cache = false;
  std::string cache_path;
  std::string cache_error;  // why the tokens could not be cached (training goes on without)
};

struct TokenizeProgress {
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;
  uint64_t tokens = 0;
};

struct CorpusOptions {
  std::vector<std::string> files;
  std::string vocab_path;  // the vocabulary GGUF (part of the cache key)
  std::string cache_dir;   // where the token cache lives; empty: no cache
  std::function<void(const TokenizeProgress&)> progress;  // called from the calling thread
};

// Reads (or tokenizes and caches) the corpus. Throws InputError for unreadable, empty or binary
// files.
CorpusTokens load_corpus(const CorpusOptions& options, const Tokenizer& tokenizer,
                         ThreadPool& pool);

}  // namespace aded::train
