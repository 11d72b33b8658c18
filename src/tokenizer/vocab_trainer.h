// The text side of vocabulary training (include/aded/vocab_trainer.h): the words of a document
// that learned pieces never cross.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace aded {

// Splits normalized text into training words of the form "\n"* "▁"* c* (c: any other character):
// a newline starts a word unless it follows one; a "▁" starts a word after any character other
// than "▁" and newline. Runs of spaces stay together ("▁▁▁▁return"), and a newline keeps the
// indentation after it ("\n▁▁▁▁if"), so pieces such as "▁▁▁▁" and "\n▁▁▁▁" can be learned.
//
// Since every piece is part of a word, no piece contains "c▁", "c\n" or "▁\n": a piece can never
// match across a word boundary, and the SPM tokenizer, which merges over the whole text,
// segments each word exactly as if it were alone.
std::vector<std::string_view> split_training_words(std::string_view normalized);

// The words VocabTrainer::add_text counts for one document: the document normalized as the SPM
// tokenizer normalizes it (spm_normalize, with the dummy prefix), split by split_training_words.
std::vector<std::string> training_words(std::string_view document);

}  // namespace aded
