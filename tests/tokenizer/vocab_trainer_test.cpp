// Vocabulary training (aded vocab train): the layout of the vocabulary, what it learns, and above
// all that aded's SPM tokenizer encodes with it exactly as the trainer segmented the text.
#include "aded/vocab_trainer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <random>
#include <string>
#include <vector>

#include "aded/error.h"
#include "aded/gguf.h"
#include "aded/tokenizer.h"
#include "support/test_support.h"
#include "tokenizer/spm_merge.h"
#include "tokenizer/spm_normalizer.h"
#include "tokenizer/tokenizer_test_helpers.h"
#include "tokenizer/vocab_trainer.h"

namespace aded {
namespace {

using Ids = std::vector<int32_t>;
using Words = std::vector<std::string_view>;

using aded::testing::kSpace;
using aded::testing::pieces_of;

// Some prose, some Python, some other scripts: documents made of random picks of these lines.
const std::vector<std::string>& sample_lines() {
  static const std::vector<std::string> lines = {
      "The quick brown fox jumps over the lazy dog.",
      "the cat sat on the mat, and the dog sat on the log",
      "It was the best of times, it was the worst of times.",
      "def parse(self, text):\n    return [word for word in text.split() if word]",
      "class Reader:\n    def __init__(self, path):\n        self.path = path\n",
      "    if value is None:\n        raise ValueError(\"value is required\")",
      "for i in range(10):\n\tprint(i, i * i)",
      "import os\nimport sys\n\n\nx  =  1   # three  spaces",
      "Grüße aus München, schöne Straße!",
      "Καλημέρα κόσμε, τι κάνεις;",
      "日本語のテキストも少し入れておきます。",
      "naïve café résumé — “quotes” and ‘more’…",
      "emoji 🙂 and 🚀 appear rarely",
  };
  return lines;
}

std::vector<std::string> sample_documents(int count, int lines_per_document, uint32_t seed) {
  std::mt19937 rng(seed);
  const auto& lines = sample_lines();
  std::uniform_int_distribution<size_t> pick(0, lines.size() - 1);
  std::vector<std::string> docs;
  for (int d = 0; d < count; ++d) {
    std::string doc;
    for (int l = 0; l < lines_per_document; ++l) doc += lines[pick(rng)] + (l % 3 ? " " : "\n");
    docs.push_back(doc);
  }
  return docs;
}

LearnedVocab train_on(const std::vector<std::string>& docs, int32_t size,
                      VocabTrainerOptions options = {}) {
  options.vocab_size = size;
  VocabTrainer trainer(options);
  for (const auto& d : docs) trainer.add_text(d);
  return trainer.train();
}

// Plain BPE, independent of the SPM encoder: the merges applied one after the other, each to all
// its occurrences left to right, then the symbols looked up (byte tokens for the rest).
Ids apply_merges(const LearnedVocab& learned, std::string_view text) {
  const std::string normalized = spm_normalize(text, true);
  std::vector<std::string> symbols;
  for (std::string_view rest = normalized; !rest.empty();) {
    const size_t length = utf8_char_length(rest);
    symbols.emplace_back(rest.substr(0, length));
    rest.remove_prefix(length);
  }
  for (const auto& [left, right] : learned.merges) {
    std::vector<std::string> merged;
    for (size_t i = 0; i < symbols.size(); ++i) {
      if (i + 1 < symbols.size() && symbols[i] == left && symbols[i + 1] == right) {
        merged.push_back(left + right);
        ++i;
      } else {
        merged.push_back(symbols[i]);
      }
    }
    symbols = std::move(merged);
  }
  Ids ids;
  const Vocab& v = learned.vocab;
  for (const auto& s : symbols) {
    const auto it = v.piece_to_id.find(s);
    if (it != v.piece_to_id.end() && v.kinds[it->second] == TokenKind::Normal) {
      ids.push_back(it->second);
    } else {
      for (const char c : s) ids.push_back(3 + static_cast<unsigned char>(c));
    }
  }
  return ids;
}

bool is_normal_piece(const Vocab& v, const std::string& piece) {
  const auto it = v.piece_to_id.find(piece);
  return it != v.piece_to_id.end() && v.kinds[it->second] == TokenKind::Normal;
}

TEST(VocabTrainerText, TrainingWordsAreTheNormalizedDocumentSplit) {
  EXPECT_EQ(training_words("a b  c"),
            (std::vector<std::string>{kSpace + "a", kSpace + "b", kSpace + kSpace + "c"}));
  EXPECT_EQ(training_words("\tx\n"), (std::vector<std::string>{kSpace + "\tx", "\n"}));
}

TEST(VocabTrainerText, SplitsWordsAtSpacesAndNewlines) {
  const std::string s = kSpace;
  const std::string text = spm_normalize("def f():\n    return x\n\n\nclass A:  pass", true);
  EXPECT_EQ(split_training_words(text),
            (Words{s + "def", s + "f():", "\n" + s + s + s + s + "return", s + "x", "\n\n\nclass",
                   s + "A:", s + s + "pass"}));
  // Tabs and carriage returns are ordinary characters; a leading newline follows the prefix.
  EXPECT_EQ(split_training_words(spm_normalize("\n\tx\r\ny", true)), (Words{s, "\n\tx\r", "\ny"}));
  EXPECT_EQ(split_training_words(spm_normalize("   ", true)), (Words{s + s + s + s}));
  EXPECT_TRUE(split_training_words("").empty());
}

TEST(VocabTrainer, HasTheSpecialAndByteTokensFirst) {
  const LearnedVocab learned = train_on(sample_documents(20, 30, 1), 400);
  const Vocab& v = learned.vocab;
  ASSERT_EQ(v.size(), 400);
  EXPECT_EQ(v.model, "llama");
  EXPECT_EQ(v.pieces[0], "<unk>");
  EXPECT_EQ(v.kinds[0], TokenKind::Unknown);
  EXPECT_EQ(v.pieces[1], "<s>");
  EXPECT_EQ(v.kinds[1], TokenKind::Control);
  EXPECT_EQ(v.pieces[2], "</s>");
  EXPECT_EQ(v.kinds[2], TokenKind::Control);
  EXPECT_EQ(v.unk, 0);
  EXPECT_EQ(v.bos, 1);
  EXPECT_EQ(v.eos, 2);
  EXPECT_TRUE(v.add_bos);
  EXPECT_TRUE(v.add_space_prefix);
  for (int b = 0; b < 256; ++b) {
    EXPECT_EQ(v.pieces[3 + b], fmt::format("<0x{:02X}>", b));
    EXPECT_EQ(v.kinds[3 + b], TokenKind::Byte);
  }
  // Then the pieces, merges first, each scoring below the one before; no piece twice.
  for (int32_t id = 259; id < v.size(); ++id) {
    EXPECT_EQ(v.kinds[id], TokenKind::Normal);
    EXPECT_EQ(v.piece_to_id.at(v.pieces[id]), id) << v.pieces[id];
    if (id > 259) {
      EXPECT_LT(v.scores[id], v.scores[id - 1]);
    }
  }
  EXPECT_EQ(learned.stats.merges + learned.stats.character_pieces + 259, v.size());
  EXPECT_EQ(learned.merges.size(), static_cast<size_t>(learned.stats.merges));
  EXPECT_EQ(v.pieces[259], learned.merges[0].first + learned.merges[0].second);
}

TEST(VocabTrainer, FrequentWordsBecomeSingleTokens) {
  const LearnedVocab learned = train_on(sample_documents(20, 30, 2), 1000);
  const auto tok = Tokenizer::from_vocab(learned.vocab);
  // Encoded alone, a word gets the dummy prefix: "▁the" is a piece as the corpus has " the".
  for (const std::string word : {"the", "quick", "times", "dog"}) {
    const Ids ids = tok->encode(word, false);
    EXPECT_EQ(ids.size(), 1u) << word << ": " << ::testing::PrintToString(pieces_of(*tok, ids));
  }
  // A vocabulary this large for so small a corpus has every word of it as one piece.
  const Ids line = tok->encode("The quick brown fox jumps over the lazy dog.", false);
  EXPECT_EQ(line.size(), 9u) << ::testing::PrintToString(pieces_of(*tok, line));
  EXPECT_TRUE(is_normal_piece(learned.vocab, "\n" + kSpace + kSpace + kSpace + kSpace + "return"));
  EXPECT_GT(learned.stats.chars_per_token(), 3.0);
}

TEST(VocabTrainer, LearnsIndentationAndNewlinePieces) {
  std::string code;
  for (int i = 0; i < 50; ++i)
    code += "def f" + std::to_string(i) + "(x):\n    if x:\n        return x\n    return 0\n\n";
  const LearnedVocab learned = train_on({code}, 300);
  const std::string indent = kSpace + kSpace + kSpace + kSpace;
  for (const std::string& piece : std::vector<std::string>{indent, "\n" + indent, "\n\n", "\n"})
    EXPECT_TRUE(is_normal_piece(learned.vocab, piece)) << "'" << piece << "'";
}

TEST(VocabTrainer, NoPieceCanSpanAWordBoundary) {
  const LearnedVocab learned = train_on(sample_documents(20, 30, 3), 800);
  for (int32_t id = 259; id < learned.vocab.size(); ++id) {
    const std::string& piece = learned.vocab.pieces[id];
    const auto words = split_training_words(piece);
    // A piece that started a word (or continued one) is one word: "\n"* "▁"* other*.
    EXPECT_LE(words.size(), piece.starts_with(kSpace) || piece.starts_with("\n") ? 1u : 2u)
        << piece;
    if (words.size() == 2) {
      EXPECT_FALSE(words[1].starts_with(kSpace) || words[1].starts_with("\n")) << piece;
    }
  }
}

TEST(VocabTrainer, SpmEncodingEqualsApplyingTheMergesInOrder) {
  const auto docs = sample_documents(30, 30, 4);
  for (const int32_t size : {300, 600, 1000}) {
    const LearnedVocab learned = train_on(docs, size);
    const auto tok = Tokenizer::from_vocab(learned.vocab);
    uint64_t tokens = 0;
    for (const auto& doc : docs) {
      const Ids spm = tok->encode(doc, false);
      ASSERT_EQ(pieces_of(*tok, spm), pieces_of(*tok, apply_merges(learned, doc)))
          << "size " << size;
      tokens += spm.size();
    }
    // And the trainer's own segmentation of the corpus has exactly as many tokens.
    EXPECT_EQ(tokens, learned.stats.corpus_tokens) << "size " << size;
  }
}

// Random words over a tiny alphabet make pieces that can be split in several ways ("a"+"bc",
// "ab"+"c"), where plain BPE and the SPM encoder may differ: the trainer follows the encoder.
TEST(VocabTrainer, TrainerSegmentationIsTheEncodersOnAmbiguousPieces) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> letter(0, 3), length(1, 8), lines(1, 40);
  std::vector<std::string> docs;
  for (int d = 0; d < 40; ++d) {
    std::string doc;
    for (int w = lines(rng); w > 0; --w) {
      for (int n = length(rng); n > 0; --n) doc += "abc\n"[letter(rng)];
      doc += ' ';
    }
    docs.push_back(doc);
  }
  for (const int32_t size : {280, 320, 400}) {
    VocabTrainerOptions o;
    o.max_piece_chars = 6;
    const LearnedVocab learned = train_on(docs, size, o);
    const auto tok = Tokenizer::from_vocab(learned.vocab);
    uint64_t tokens = 0;
    for (const auto& doc : docs) tokens += tok->encode(doc, false).size();
    EXPECT_EQ(tokens, learned.stats.corpus_tokens) << "size " << size;
  }
}

TEST(VocabTrainer, DecodeInvertsEncodeWithByteFallback) {
  const LearnedVocab learned = train_on(sample_documents(20, 30, 6), 500);
  const auto tok = Tokenizer::from_vocab(learned.vocab);
  const std::vector<std::string> texts = {
      "The quick brown fox",
      "  leading spaces, trailing spaces  ",
      "def g(y):\n\treturn  y\r\n",
      "Straße Καλημέρα 日本語 — never seen: ЖЖЖ ᚠᚢᚦ 🦀🦀 \x01\x7F",
      "\n\n\n",
      "x",
  };
  for (const auto& text : texts) {
    const Ids ids = tok->encode(text, true);
    EXPECT_EQ(tok->decode(ids), text) << ::testing::PrintToString(pieces_of(*tok, ids));
  }
  // A character never seen comes out as its UTF-8 bytes.
  const Ids crab = tok->encode("\xF0\x9F\xA6\x80", false);  // 🦀
  EXPECT_EQ(pieces_of(*tok, crab),
            (std::vector<std::string>{kSpace, "<0xF0>", "<0x9F>", "<0xA6>", "<0x80>"}));
}

TEST(VocabTrainer, RareCharactersGetNoPiece) {
  std::string text;
  for (int i = 0; i < 100; ++i) text += "abc abd abe ";
  text += "\xC3\xA9";  // é, once
  const LearnedVocab learned = train_on({text}, 300);
  EXPECT_TRUE(is_normal_piece(learned.vocab, "a"));
  EXPECT_FALSE(is_normal_piece(learned.vocab, "\xC3\xA9"));
  // Two bytes for é, and the trainer counted them so.
  const auto tok = Tokenizer::from_vocab(learned.vocab);
  EXPECT_EQ(tok->encode(text, false).size(), learned.stats.corpus_tokens);
}

TEST(VocabTrainer, StopsWhenNoPairIsFrequentEnough) {
  VocabTrainerOptions o;
  o.min_frequency = 3;
  const LearnedVocab learned = train_on({"ab ab ab cd cd"}, 1000, o);
  // Pieces for ▁, a, b (c and d occur twice), then ▁a, ▁ab: nothing else occurs 3 times.
  EXPECT_EQ(learned.merges,
            (std::vector<std::pair<std::string, std::string>>{{kSpace, "a"}, {kSpace + "a", "b"}}));
  EXPECT_EQ(learned.vocab.size(), 259 + 3 + 2);
}

TEST(VocabTrainer, IsDeterministic) {
  const auto docs = sample_documents(20, 30, 7);
  const auto bytes = [&] {
    GgufWriter w;
    set_vocab_metadata(w, train_on(docs, 700).vocab);
    return w.to_bytes();
  };
  EXPECT_EQ(bytes(), bytes());
}

TEST(VocabTrainer, WritesAVocabOnlyGgufTheTokenizerLoads) {
  testing::TempDir dir;
  const auto docs = sample_documents(10, 30, 8);
  const LearnedVocab learned = train_on(docs, 450);
  GgufWriter w;
  set_vocab_metadata(w, learned.vocab);
  const std::string path = (dir / "vocab.gguf").string();
  w.write(path);

  const GgufFile file = GgufFile::open(path);
  EXPECT_TRUE(file.tensors().empty());
  EXPECT_EQ(file.get_string("tokenizer.ggml.model"), "llama");
  EXPECT_TRUE(file.get_bool("tokenizer.ggml.add_bos_token"));
  EXPECT_TRUE(file.get_bool("tokenizer.ggml.add_space_prefix"));
  const Vocab loaded = Vocab::from_gguf(file);
  EXPECT_EQ(loaded.pieces, learned.vocab.pieces);
  EXPECT_EQ(loaded.scores, learned.vocab.scores);
  EXPECT_EQ(loaded.kinds, learned.vocab.kinds);
  EXPECT_EQ(loaded.bos, 1);
  EXPECT_EQ(loaded.eos, 2);
  EXPECT_EQ(loaded.unk, 0);
  const auto from_file = Tokenizer::from_gguf(file);
  const auto in_memory = Tokenizer::from_vocab(learned.vocab);
  EXPECT_EQ(from_file->encode(docs[0], true), in_memory->encode(docs[0], true));
}

TEST(VocabTrainer, RejectsBadOptionsAndInput) {
  VocabTrainerOptions o;
  o.vocab_size = 259;
  EXPECT_THROW(VocabTrainer{o}, InputError);
  o.vocab_size = 65537;
  EXPECT_THROW(VocabTrainer{o}, InputError);
  o.vocab_size = 260;
  EXPECT_NO_THROW(VocabTrainer{o});

  VocabTrainer trainer(o);
  EXPECT_THROW(trainer.train(), InputError);  // no text
  EXPECT_THROW(trainer.add_text(std::string("a\0b", 3), "doc"), InputError);

  testing::TempDir dir;
  const auto expect_error_naming = [&](const std::filesystem::path& path, const std::string& what) {
    try {
      trainer.add_file(path.string());
      ADD_FAILURE() << "no error for " << path;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  expect_error_naming(dir / "absent.txt", "cannot open");
  testing::write_file(dir / "empty.txt", "");
  expect_error_naming(dir / "empty.txt", "empty");
  testing::write_file(dir / "binary.bin", std::string("text\0\1\2", 7));
  expect_error_naming(dir / "binary.bin", "NUL");
  expect_error_naming(dir.path(), "folder");
  // Mapped like the other commands' corpora: refused before reading could block or never end.
  ASSERT_EQ(::mkfifo((dir / "pipe").c_str(), 0600), 0);
  expect_error_naming(dir / "pipe", "named pipe");
  expect_error_naming("/dev/zero", "device");
}

TEST(VocabTrainer, MaxBytesCutsAtACharacterBoundary) {
  testing::TempDir dir;
  testing::write_file(dir / "a.txt", "ab\xC3\xA9");  // "abé": 4 bytes
  VocabTrainerOptions o;
  o.vocab_size = 300;
  VocabTrainer trainer(o);
  EXPECT_EQ(trainer.add_file((dir / "a.txt").string(), 3), 2u);  // not half of é
  EXPECT_EQ(trainer.bytes(), 2u);
}

std::string quoted(const std::filesystem::path& p) {
  return "'" + p.string() + "'";
}

TEST(VocabTrainerCli, TrainsAVocabularyTheOtherCommandsUse) {
  testing::TempDir dir;
  const auto docs = sample_documents(2, 400, 9);
  testing::write_file(dir / "a.txt", docs[0]);
  testing::write_file(dir / "b.txt", docs[1]);
  const auto vocab = dir / "vocab.gguf";
  const auto r = testing::run_cli("vocab train --corpus " + quoted(dir / "a.txt") + " " +
                                  quoted(dir / "b.txt") + " --size 400 -o " + quoted(vocab));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("400 tokens"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("characters per token"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("merges"), std::string::npos) << r.err;
  const GgufFile file = GgufFile::open(vocab.string());
  EXPECT_EQ(Tokenizer::from_gguf(file)->size(), 400);

  const auto model = dir / "model.gguf";
  const auto g = testing::run_cli("gen-model --vocab " + quoted(vocab) + " -o " + quoted(model));
  ASSERT_EQ(g.exit_code, 0) << g.err;
  EXPECT_EQ(Tokenizer::from_gguf(GgufFile::open(model.string()))->vocab().pieces,
            Tokenizer::from_gguf(file)->vocab().pieces);
}

TEST(VocabTrainerCli, ReportsBadInputOnOneLine) {
  testing::TempDir dir;
  testing::write_file(dir / "a.txt", "some text\n");
  const auto one_error_line = [](const testing::CommandResult& r, const std::string& mention) {
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_TRUE(r.err.starts_with("aded: error: ")) << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
    EXPECT_NE(r.err.find(mention), std::string::npos) << r.err;
  };
  const std::string out = " -o " + quoted(dir / "v.gguf");
  one_error_line(
      testing::run_cli("vocab train --corpus " + quoted(dir / "absent.txt") + " --size 300" + out),
      (dir / "absent.txt").string());
  one_error_line(
      testing::run_cli("vocab train --corpus " + quoted(dir / "a.txt") + " --size 100" + out),
      "vocabulary size 100");
  one_error_line(testing::run_cli("vocab train --corpus " + quoted(dir / "a.txt") +
                                  " --size 300 -o " + quoted(dir / "no" / "such" / "v.gguf")),
                 "does not exist");
}

}  // namespace
}  // namespace aded
