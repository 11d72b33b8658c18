// aded vocab train: learn a SentencePiece-style vocabulary from text files and write it as a
// vocab-only GGUF (for `aded gen-model --vocab` and `aded train --vocab`).
#include <chrono>
#include <filesystem>
#include <memory>

#include "aded/error.h"
#include "aded/gguf.h"
#include "aded/vocab_trainer.h"
#include "commands.h"
#include "core/output_target.h"
#include "progress_line.h"

namespace aded::cli {

namespace {

struct VocabTrainOptions {
  std::vector<std::string> corpus;
  std::string output;
  uint64_t max_bytes = 0;
  VocabTrainerOptions trainer;
};

// Reads the corpus files until max_bytes (0: all); returns how many files were read.
size_t read_corpus(VocabTrainer& trainer, const VocabTrainOptions& o) {
  size_t files = 0;
  for (const auto& path : o.corpus) {
    if (o.max_bytes > 0 && trainer.bytes() >= o.max_bytes) break;
    trainer.add_file(path, o.max_bytes > 0 ? o.max_bytes - trainer.bytes() : 0);
    ++files;
  }
  fmt::print(stderr, "read {} of {} files, {:.2f} MB\n", files, o.corpus.size(),
             static_cast<double>(trainer.bytes()) / 1e6);
  return files;
}

// A progress bar (redrawn on a terminal, a line now and then in a log).
VocabTrainer::Progress merge_progress() {
  auto line = std::make_shared<ProgressLine>();
  auto last = std::make_shared<std::chrono::steady_clock::time_point>();
  return [line, last](int32_t done, int32_t total) {
    const auto now = std::chrono::steady_clock::now();
    if (done < total && now - *last < std::chrono::milliseconds(100)) return;
    *last = now;
    const double share = static_cast<double>(done) / static_cast<double>(total);
    line->update(fmt::format("merges {}/{} {} {:3.0f}%", done, total,
                             ProgressLine::bar(static_cast<size_t>(done), static_cast<size_t>(total)), 100.0 * share),
                 done == total);
  };
}

void print_summary(const std::string& output, const LearnedVocab& v, size_t files, double seconds) {
  const VocabTrainingStats& s = v.stats;
  fmt::print(
      "wrote {}: {} tokens (3 special, 256 byte, {} character, {} merged pieces)\n"
      "corpus: {} files, {:.2f} MB, {} characters, {} distinct words\n"
      "encoded with this vocabulary: {} tokens, {:.3f} characters per token; {:.1f} s\n",
      output, v.vocab.size(), s.character_pieces, s.merges, files,
      static_cast<double>(s.corpus_bytes) / 1e6, s.corpus_chars, s.distinct_words, s.corpus_tokens,
      s.chars_per_token(), seconds);
}

int train_vocab(const VocabTrainOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  VocabTrainer trainer(o.trainer);  // checks the options first
  // Before the training, so that a typo in -o does not cost the whole run.
  check_output_file(o.output, std::vector<std::filesystem::path>(o.corpus.begin(), o.corpus.end()));
  const size_t files = read_corpus(trainer, o);
  const LearnedVocab learned = trainer.train(merge_progress());
  const int32_t wanted = o.trainer.vocab_size;
  if (learned.vocab.size() < wanted)
    fmt::print(stderr, "note: {} tokens instead of {}: no other pair occurs {} times or more\n",
               learned.vocab.size(), wanted, o.trainer.min_frequency);
  GgufWriter writer;
  set_vocab_metadata(writer, learned.vocab);
  writer.write(o.output);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  print_summary(o.output, learned, files, seconds);
  return 0;
}

}  // namespace

Command add_vocab(CLI::App& app) {
  auto o = std::make_shared<VocabTrainOptions>();
  auto* cmd = app.add_subcommand("vocab", "Vocabularies for models trained by aded");
  cmd->require_subcommand(1);
  auto* train = cmd->add_subcommand(
      "train", "Learn a SentencePiece-style BPE vocabulary from text files (vocab-only GGUF)");
  train->add_option("--corpus", o->corpus, "corpus text files")->required()->expected(1, -1);
  train
      ->add_option("--size", o->trainer.vocab_size,
                   "vocabulary size, 259 special and byte tokens included (260..65536)")
      ->required();
  train->add_option("-o,--output", o->output, "vocabulary GGUF to write")->required();
  train->add_option("--max-bytes", o->max_bytes, "read at most this many corpus bytes (0: all)")
      ->capture_default_str();
  train
      ->add_option("--min-frequency", o->trainer.min_frequency,
                   "occurrences a character or pair needs to get a piece")
      ->capture_default_str();
  train
      ->add_option("--character-coverage", o->trainer.character_coverage,
                   "share of the text the character pieces cover; rarer ones use byte tokens")
      ->capture_default_str();
  train->add_option("--max-piece-chars", o->trainer.max_piece_chars, "longest piece, in characters")
      ->capture_default_str();
  return {cmd, [o] { return train_vocab(*o); }};
}

}  // namespace aded::cli
