// Learns a small SentencePiece-style ("llama") BPE vocabulary from text, for models trained by
// aded itself. The result encodes with aded's SPM tokenizer exactly as it was learned.
//
// The vocabulary: 0 "<unk>", 1 "<s>" (BOS), 2 "</s>" (EOS), the 256 byte tokens "<0x00>".."<0xFF>",
// then the learned pieces (merges, highest score first), then the single-character pieces.
// Characters rarer than the coverage and frequency thresholds get no piece: they fall back to
// byte tokens.
//
// Training, in short (src/tokenizer/vocab_trainer.cpp explains the details):
//   1. each document is normalized as the tokenizer will see it: a leading "▁" and every ' ' as
//      "▁" (U+2581), and split into words that no piece can ever span;
//   2. distinct words are counted, and each word starts as a sequence of characters;
//   3. the most frequent adjacent pair (ties: smaller symbol ids) becomes a new piece, with a
//      lower score than all earlier ones, and every word containing it is segmented again as the
//      SPM encoder would segment it; repeated until the vocabulary is full or no pair occurs
//      min_frequency times.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "aded/tokenizer.h"

namespace aded {

class GgufWriter;

struct VocabTrainerOptions {
  int32_t vocab_size = 4096;  // all tokens, the 259 special and byte tokens included
  int64_t min_frequency = 2;  // fewer occurrences: no character piece, no merge
  // The most frequent characters covering this share of all characters get pieces.
  double character_coverage = 0.9995;
  int32_t max_piece_chars = 16;  // longest learned piece, in characters
};

struct VocabTrainingStats {
  uint64_t documents = 0;
  uint64_t corpus_bytes = 0;
  uint64_t corpus_chars = 0;   // Unicode characters (an invalid UTF-8 byte counts as one)
  uint64_t corpus_tokens = 0;  // the corpus encoded with the learned vocabulary, without BOS
  uint64_t distinct_words = 0;
  int32_t character_pieces = 0;
  int32_t merges = 0;

  double chars_per_token() const {
    return corpus_tokens ? static_cast<double>(corpus_chars) / static_cast<double>(corpus_tokens)
                         : 0.0;
  }
};

struct LearnedVocab {
  Vocab vocab;  // model "llama", ready for Tokenizer::from_vocab or write_vocab_gguf
  // merges[k] = the pair whose concatenation became the k-th learned piece (score -k).
  std::vector<std::pair<std::string, std::string>> merges;
  VocabTrainingStats stats;
};

class VocabTrainer {
 public:
  // Throws InputError for a vocabulary size outside [260, 65536] or other bad options.
  explicit VocabTrainer(VocabTrainerOptions options);

  // Adds one document (it gets its own dummy-prefix "▁", as when encoded on its own). name is
  // for error messages: text with NUL bytes is refused as binary.
  void add_text(std::string_view text, std::string_view name = "text");
  // Reads a corpus file, at most max_bytes of it (0: all; cut at a character boundary). Throws
  // InputError naming the file when it is missing, not a regular file (a folder, a pipe, a
  // device: the file is mapped, like every corpus), empty or binary. Returns the number of bytes
  // added.
  uint64_t add_file(const std::string& path, uint64_t max_bytes = 0);

  uint64_t bytes() const { return stats_.corpus_bytes; }

  // done merges of at most total, called after each merge.
  using Progress = std::function<void(int32_t done, int32_t total)>;
  // Throws InputError when no text was added.
  LearnedVocab train(const Progress& progress = {}) const;

 private:
  VocabTrainerOptions options_;
  std::unordered_map<std::string, int64_t> word_counts_;
  VocabTrainingStats stats_;
};

// Sets the tokenizer.ggml.* metadata of a SentencePiece-style vocabulary (a vocab-only GGUF when
// nothing else is added).
void set_vocab_metadata(GgufWriter& writer, const Vocab& vocab);

}  // namespace aded
