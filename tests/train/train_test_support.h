// Shared by the trainer tests: a tiny character-level SentencePiece vocabulary written as a GGUF,
// and a small deterministic English-like corpus. Header-only, since the suite compiles *_test.cpp.
#pragma once

#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "aded/error.h"
#include "aded/gguf.h"
#include "support/test_support.h"
#include "train/trainer.h"

namespace aded::train::testing {

// <unk>, <s>, </s>, 256 byte tokens, "▁" and the printable ASCII characters: about 350 tokens.
inline void write_char_vocab(const std::filesystem::path& path) {
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<int32_t> types = {2, 3, 3};
  for (int b = 0; b < 256; ++b) {
    tokens.push_back(fmt::format("<0x{:02X}>", b));
    types.push_back(6);
  }
  tokens.push_back("\xE2\x96\x81");
  types.push_back(1);
  for (char c = 0x21; c < 0x7F; ++c) {
    tokens.push_back(std::string(1, c));
    types.push_back(1);
  }
  std::vector<float> scores(tokens.size(), 0.0f);
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_string("tokenizer.ggml.model", "llama");
  w.set_string_array("tokenizer.ggml.tokens", tokens);
  w.set_f32_array("tokenizer.ggml.scores", scores);
  w.set_i32_array("tokenizer.ggml.token_type", types);
  w.set_u32("tokenizer.ggml.bos_token_id", 1);
  w.set_u32("tokenizer.ggml.eos_token_id", 2);
  w.set_u32("tokenizer.ggml.unknown_token_id", 0);
  w.write(path.string());
}

// About `bytes` of sentences from a small grammar (a fixed seed: the same text every time).
inline std::string make_corpus(size_t bytes, uint32_t seed) {
  const std::vector<std::string> subjects = {"the cat", "a dog", "the old man", "my sister",
                                             "the bird"};
  const std::vector<std::string> verbs = {"sat on", "ran to", "looked at", "walked past",
                                          "jumped over"};
  const std::vector<std::string> objects = {"the mat", "the park", "a red ball", "the river",
                                            "the house"};
  std::mt19937 rng(seed);
  std::string text;
  while (text.size() < bytes) {
    text += subjects[rng() % subjects.size()] + " " + verbs[rng() % verbs.size()] + " " +
            objects[rng() % objects.size()] + ".";
    text += rng() % 4 == 0 ? "\n" : " ";
  }
  return text;
}

// Options for a tiny model (GQA, tied output) on a generated corpus in dir, `steps` steps.
inline TrainOptions tiny_options(const std::filesystem::path& dir, int64_t steps) {
  TrainOptions o;
  o.output = (dir / "model.gguf").string();
  o.vocab = (dir / "vocab.gguf").string();
  if (!std::filesystem::exists(o.vocab)) write_char_vocab(o.vocab);
  if (!std::filesystem::exists(dir / "train.txt"))
    aded::testing::write_file(dir / "train.txt", make_corpus(6000, 1));
  if (!std::filesystem::exists(dir / "valid.txt"))
    aded::testing::write_file(dir / "valid.txt", make_corpus(1500, 2));
  o.corpus = {(dir / "train.txt").string()};
  o.valid = {(dir / "valid.txt").string()};
  o.shape = ModelConfig::new_model(Architecture::Llama, 32, 2, 4, 2, 64, 32000, 32, true);
  o.settings.batch = 4;
  o.settings.lr = 3e-3f;
  o.settings.warmup_steps = 5;
  o.settings.steps = steps;
  o.threads = 2;
  o.eval_interval = 0;
  o.eval_batches = 2;
  return o;
}

// The message of the InputError fn throws; "not an InputError: ..." or "no error" otherwise.
inline std::string input_error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const InputError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("not an InputError: ") + e.what();
  }
  return "no error";
}

}  // namespace aded::train::testing

// Expects the statement to throw an InputError whose message contains text.
#define EXPECT_INPUT_ERROR(statement, text)                                                  \
  do {                                                                                       \
    const std::string message =                                                              \
        ::aded::train::testing::input_error_of([&] { (void)(statement); });                  \
    EXPECT_NE(message.find(text), std::string::npos) << "message: " << message;              \
  } while (0)
