// A drafter design question: where the text of the request does not predict a model's greedy
// continuation, do statistics of a corpus over longer contexts than a tri-gram predict it better?
// The probe indexes a corpus with a suffix array and, at every position of recorded greedy
// continuations, compares the top-k coverage of the tri-gram statistics (2 tokens of context)
// with that of the longest context (up to max_order tokens) seen at least min_occurrences times.
// No model forward passes: the continuations are recorded (recorded_sequences.h).
#pragma once

#include <string>
#include <vector>

#include "aded/tokenizer.h"
#include "recorded_sequences.h"

namespace aded {

struct CorpusProbeOptions {
  int max_order = 12;         // longest corpus context tried, in tokens
  int min_occurrences = 128;  // a context above 2 tokens is used only if seen this often
  int request_order = 6;      // the request text "predicts" a position: an earlier match this long
                              // whose continuation is right
};

// Prints a markdown table to stdout, progress to stderr.
void run_corpus_probe(const Tokenizer& tokenizer, const std::vector<std::string>& corpus_files,
                      const std::vector<Recorded>& seqs, const CorpusProbeOptions& options);

}  // namespace aded
