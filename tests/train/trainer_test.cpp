// The trainer end to end on a tiny model and a generated corpus: the loss goes down, a resumed run
// is bitwise the same as an uninterrupted one, the written GGUF runs in the inference engine with
// the trainer's loss, the token cache is reused, and bad input gives clear errors.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "aded/context.h"
#include "aded/error.h"
#include "aded/model.h"
#include "support/test_support.h"
#include "train/checkpoint.h"
#include "train/train_test_support.h"

namespace aded::train {
namespace {

using aded::testing::TempDir;
using testing::tiny_options;

TEST(Trainer, LossDecreasesOnASmallCorpus) {
  TempDir dir;
  TrainOptions o = tiny_options(dir.path(), 150);
  std::vector<double> losses;
  TrainEvents events;
  events.step = [&](const TrainProgress& p) { losses.push_back(p.loss); };
  const TrainReport r = train(o, events);
  ASSERT_EQ(losses.size(), 150u);
  EXPECT_EQ(r.steps, 150u);
  // Starts near log(vocab) (uniform predictions), ends far below.
  EXPECT_NEAR(losses.front(), std::log(354.0), 0.1);
  double last10 = 0;
  for (size_t i = losses.size() - 10; i < losses.size(); ++i) last10 += losses[i] / 10;
  EXPECT_LT(last10, 2.2);
  EXPECT_GT(r.valid_loss, 0);
  EXPECT_LT(r.valid_loss, 2.4);
  EXPECT_TRUE(std::filesystem::exists(o.output));
  EXPECT_TRUE(std::filesystem::exists(o.output + ".ckpt"));
}

TEST(Trainer, ResumedRunIsBitwiseTheSameAsAnUninterruptedOne) {
  TempDir dir;
  const int64_t n = 12;
  TrainOptions whole = tiny_options(dir.path(), 2 * n);
  whole.output = (dir / "whole.gguf").string();
  train(whole);

  // Stop after n steps (what Ctrl-C does), then resume with the same settings.
  TrainOptions first = tiny_options(dir.path(), 2 * n);
  first.output = (dir / "split.gguf").string();
  TrainEvents events;
  uint64_t done = 0;
  events.step = [&](const TrainProgress& p) { done = p.step; };
  events.stop_requested = [&] { return done >= static_cast<uint64_t>(n); };
  const TrainReport stopped = train(first, events);
  EXPECT_TRUE(stopped.interrupted);
  EXPECT_EQ(stopped.steps, static_cast<uint64_t>(n));

  TrainOptions second = first;
  second.resume = first.output + ".ckpt";
  const TrainReport resumed = train(second);
  EXPECT_FALSE(resumed.interrupted);
  EXPECT_EQ(resumed.steps, static_cast<uint64_t>(2 * n));
  EXPECT_EQ(resumed.steps_this_run, static_cast<uint64_t>(n));

  const Checkpoint a = load_checkpoint(whole.output + ".ckpt");
  const Checkpoint b = load_checkpoint(second.output + ".ckpt");
  EXPECT_EQ(a.state.step, b.state.step);
  ASSERT_EQ(a.params.size(), b.params.size());
  EXPECT_EQ(0, std::memcmp(a.params.data(), b.params.data(), a.params.size() * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(a.adam_m.data(), b.adam_m.data(), a.adam_m.size() * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(a.adam_v.data(), b.adam_v.data(), a.adam_v.size() * sizeof(float)));
  EXPECT_EQ(aded::testing::read_file(whole.output), aded::testing::read_file(second.output));
}

// The GGUF the trainer writes runs in the inference engine with the loss the trainer computes.
void check_export(bool tied) {
  TempDir dir;
  TrainOptions o = tiny_options(dir.path(), 30);
  o.shape.tied_output = tied;
  train(o);
  const auto model = Model::load(o.output);
  EXPECT_EQ(model->config().tied_output, tied);
  EXPECT_EQ(model->config().n_kv_heads, 2);
  ModelConfig shape = o.shape;
  shape.n_vocab = 354;
  EXPECT_EQ(model->parameter_count(), shape.parameter_count());

  // A held-out window from the validation text.
  const std::string text = aded::testing::read_file(o.valid[0]);
  std::vector<int32_t> tokens = model->tokenizer().encode(text.substr(300, 200), true);
  tokens.resize(static_cast<size_t>(o.shape.ctx_train) + 1);
  const std::vector<int32_t> inputs(tokens.begin(), tokens.end() - 1),
      targets(tokens.begin() + 1, tokens.end());

  Context ctx(model, {.n_ctx = o.shape.ctx_train, .n_threads = 2});
  ctx.forward(Batch::sequence(inputs, 0, true));
  double engine_loss = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto logits = ctx.logits(static_cast<int>(i));
    double max = -1e300, sum = 0;
    for (float l : logits) max = std::max(max, static_cast<double>(l));
    for (float l : logits) sum += std::exp(l - max);
    engine_loss += max + std::log(sum) - logits[static_cast<size_t>(targets[i])];
  }
  engine_loss /= static_cast<double>(inputs.size());

  const Checkpoint c = load_checkpoint(o.output + ".ckpt");
  const ParameterLayout layout(c.shape);
  ThreadPool pool(2);
  LlamaTrainingPass<float> pass(layout, 1, pool);
  const double trainer_loss = pass.run(c.params.data(), inputs, targets, nullptr);
  EXPECT_NEAR(engine_loss, trainer_loss, 1e-4);
  EXPECT_LT(trainer_loss, 4.0);  // trained, not random
}

TEST(Trainer, ExportedModelGivesTheTrainersLossInTheEngineTied) {
  check_export(true);
}
TEST(Trainer, ExportedModelGivesTheTrainersLossInTheEngineSeparateOutput) {
  check_export(false);
}

TEST(Trainer, TokenCacheIsReused) {
  TempDir dir;
  TrainOptions o = tiny_options(dir.path(), 1);
  std::vector<std::string> lines;
  TrainEvents events;
  events.log = [&](const std::string& line) { lines.push_back(line); };
  train(o, events);
  auto mentions_cache = [&] {
    for (const auto& l : lines)
      if (l.starts_with("corpus:") && l.find("cached: ") != std::string::npos) return true;
    return false;
  };
  EXPECT_FALSE(mentions_cache());
  lines.clear();
  train(o, events);
  EXPECT_TRUE(mentions_cache());
  // A changed corpus is tokenized again.
  aded::testing::write_file(dir / "train.txt", testing::make_corpus(5000, 9));
  lines.clear();
  train(o, events);
  EXPECT_FALSE(mentions_cache());
  // A damaged cache file is ignored, not trusted.
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    if (entry.path().filename().string().starts_with("aded-tokens-"))
      std::filesystem::resize_file(entry.path(), std::filesystem::file_size(entry.path()) - 4);
  lines.clear();
  train(o, events);
  EXPECT_FALSE(mentions_cache());
  // A cache that cannot be written is a warning, not an error.
  o.token_cache_dir = o.corpus[0];  // a file, not a directory
  lines.clear();
  EXPECT_NO_THROW(train(o, events));
  bool warned = false;
  for (const auto& l : lines) warned |= l.starts_with("warning: tokens not cached");
  EXPECT_TRUE(warned);
}

TEST(Trainer, BadInputGivesClearErrors) {
  TempDir dir;
  const TrainOptions good = tiny_options(dir.path(), 2);
  TrainOptions o = good;

  aded::testing::write_file(dir / "empty.txt", "");
  o.corpus = {(dir / "empty.txt").string()};
  EXPECT_INPUT_ERROR(train(o), "empty.txt: the corpus file is empty");

  aded::testing::write_file(dir / "binary.bin", std::string("\x7F"
                                                            "ELF\x02\x01\x01\0\0\0",
                                                            10));
  o.corpus = {(dir / "binary.bin").string()};
  EXPECT_INPUT_ERROR(train(o), "binary.bin: not a text file");

  o.corpus = {(dir / "missing.txt").string()};
  EXPECT_INPUT_ERROR(train(o), "missing.txt: cannot open");

  aded::testing::write_file(dir / "short.txt", "hi");
  o.corpus = {(dir / "short.txt").string()};
  EXPECT_INPUT_ERROR(train(o), "fewer than one training window");

  o = good;
  o.vocab = o.corpus[0];  // a text file, not GGUF
  EXPECT_INPUT_ERROR(train(o), "train.txt");
  GgufWriter no_tokenizer;
  no_tokenizer.set_string("general.architecture", "llama");
  no_tokenizer.write((dir / "notok.gguf").string());
  o.vocab = (dir / "notok.gguf").string();
  EXPECT_INPUT_ERROR(train(o), "not a vocabulary GGUF");

  o = good;
  o.shape.n_heads = 5;
  EXPECT_INPUT_ERROR(train(o), "the head count 5 does not divide the model dimension 32");
  o = good;
  o.shape.n_kv_heads = 3;
  EXPECT_INPUT_ERROR(train(o), "the kv-head count 3 does not divide the head count 4");
  o = good;
  o.shape.ctx_train = 1;  // no next token to predict
  EXPECT_INPUT_ERROR(train(o), "the sequence length (--ctx) must be between 2 and 65536, not 1");
  o = good;
  o.settings.steps = 0;
  EXPECT_INPUT_ERROR(train(o), "--steps N or --minutes M");

  o = good;
  o.resume = (dir / "nothing.ckpt").string();
  EXPECT_INPUT_ERROR(train(o), "nothing.ckpt: cannot open");
  o.resume = o.corpus[0];
  EXPECT_INPUT_ERROR(train(o), "train.txt");
  o.resume = good.vocab;
  EXPECT_INPUT_ERROR(train(o), "not an aded training checkpoint");

  // A real checkpoint, then damaged copies of it.
  train(good);
  const std::string ckpt = good.output + ".ckpt";
  std::string bytes = aded::testing::read_file(ckpt);
  std::string flipped = bytes;
  flipped[flipped.size() - 100] = static_cast<char>(flipped[flipped.size() - 100] ^ 0x40);
  aded::testing::write_file(dir / "flipped.ckpt", flipped);
  o = good;
  o.resume = (dir / "flipped.ckpt").string();
  EXPECT_INPUT_ERROR(train(o), "the checkpoint is damaged");
  aded::testing::write_file(dir / "short.ckpt", bytes.substr(0, bytes.size() / 2));
  o.resume = (dir / "short.ckpt").string();
  EXPECT_INPUT_ERROR(train(o), "short.ckpt");
  o = good;
  o.resume = ckpt;
  o.shape.n_layers = 3;
  EXPECT_INPUT_ERROR(train(o), "the checkpoint is for a different model");
}

TEST(TrainerCli, TrainsAndRunsTheModel) {
  TempDir dir;
  const TrainOptions o = tiny_options(dir.path(), 3);
  const std::string flags = fmt::format(
      "train -o '{}' --vocab '{}' --corpus '{}' --valid '{}' --dim 32 --layers 2 --heads 4 "
      "--kv-heads 2 --hidden 64 "
      "--ctx 32 --batch 2 --steps 3 -t 2",
      o.output, o.vocab, o.corpus[0], o.valid[0]);
  const auto r = aded::testing::run_cli(flags);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("GFLOP/s"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("valid loss"), std::string::npos) << r.err;
  const auto run =
      aded::testing::run_cli(fmt::format("run -m '{}' -p 'the cat' -n 4 --temp 0", o.output));
  EXPECT_EQ(run.exit_code, 0) << run.err;

  // Resuming takes the shape from the checkpoint and extends the run.
  const auto more = aded::testing::run_cli(
      fmt::format("train -o '{}' --vocab '{}' --corpus '{}' --resume '{}' --steps 5", o.output,
                  o.vocab, o.corpus[0], o.output + ".ckpt"));
  EXPECT_EQ(more.exit_code, 0) << more.err;
  EXPECT_NE(more.err.find("resuming"), std::string::npos) << more.err;
  EXPECT_NE(more.err.find("step 5/5"), std::string::npos) << more.err;

  const auto bad = aded::testing::run_cli(
      fmt::format("train -o '{}' --vocab '{}' --corpus '{}' --dim 100 --steps 1", o.output, o.vocab,
                  o.corpus[0]));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("aded: error: the head count 6 does not divide the model dimension 100"),
            std::string::npos)
      << bad.err;
}

// Ctrl-C: the trainer finishes the step, writes a checkpoint and the model, and exits with 130.
TEST(TrainerCli, InterruptSavesACheckpoint) {
  TempDir dir;
  const TrainOptions o = tiny_options(dir.path(), 1);
  const std::string train_command = fmt::format(
      "'{}' train -o '{}' --vocab '{}' --corpus '{}' --dim 32 --layers 2 --heads 4 --hidden 64 "
      "--ctx 32 --batch 2 "
      "--minutes 0.5 -t 1",
      ADED_CLI_PATH, o.output, o.vocab, o.corpus[0]);
  const std::string script =
      fmt::format("{} 2>'{}' & pid=$!; sleep 1.5; kill -INT $pid; wait $pid; echo $? >'{}'",
                  train_command, (dir / "err.txt").string(), (dir / "rc.txt").string());
  aded::testing::write_file(dir / "interrupt.sh", script + "\n");
  ASSERT_EQ(std::system(("sh '" + (dir / "interrupt.sh").string() + "'").c_str()), 0);
  const std::string err = aded::testing::read_file(dir / "err.txt");
  EXPECT_EQ(aded::testing::read_file(dir / "rc.txt"), "130\n") << err;
  EXPECT_NE(err.find("interrupted: checkpoint"), std::string::npos) << err;
  const Checkpoint c = load_checkpoint(o.output + ".ckpt");
  EXPECT_GT(c.state.step, 0u);
  EXPECT_NO_THROW(Model::load(o.output));
}

}  // namespace
}  // namespace aded::train
