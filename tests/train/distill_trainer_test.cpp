// aded train --distill end to end on a tiny model: a short fine-tune lowers each loss on the set
// it was trained on, starting from the weights of a GGUF (which the import reads back exactly).
#include <gtest/gtest.h>

#include <random>

#include <fmt/format.h>

#include "aded/error.h"
#include "aded/gguf.h"
#include "distillation/distill_data.h"
#include "distillation/distill_set.h"
#include "train/distill_objective.h"
#include "train/gguf_import.h"
#include "train/model_export.h"
#include "train/target_distributions.h"
#include "train/train_test_support.h"

namespace aded::train {
namespace {

// A target that continues token t with 40 + (t mod 4) with probability 0.7, the rest spread:
// records follow it from random starts.
distill::DistillSet chain_set(int vocab, int records, int length, uint32_t seed) {
  std::mt19937 rng(seed);
  distill::DistillSet s;
  s.info.n_vocab = static_cast<uint32_t>(vocab);
  s.info.top_k = 1;
  s.info.target_name = "chain";
  for (int r = 0; r < records; ++r) {
    distill::Record rec;
    rec.sample = static_cast<uint32_t>(r);
    rec.response_start = 4;
    rec.tokens.push_back(static_cast<int32_t>(3 + rng() % static_cast<uint32_t>(vocab - 3)));
    while (rec.tokens.size() < static_cast<size_t>(length)) {
      const int32_t next = 40 + rec.tokens.back() % 4;
      const bool follow = rng() % 10 < 7;
      rec.tokens.push_back(follow ? next
                                  : static_cast<int32_t>(rng() % static_cast<uint32_t>(vocab)));
    }
    for (size_t j = rec.response_start; j < rec.tokens.size(); ++j) {
      rec.top_ids.push_back(40 + rec.tokens[j - 1] % 4);
      rec.top_probs.push_back(0.7f);
      rec.rest.push_back(0.3f);
    }
    s.records.push_back(rec);
  }
  return s;
}

// The loss of the model at `path` over a fixed batch of the set.
double loss_of(const std::string& path, const distill::DistillSet& set, DistillLoss loss) {
  const auto model = Model::load(path);
  const ModelConfig shape = trainable_shape(*model, path);
  const ParameterLayout layout(shape);
  std::vector<float> params(layout.size());
  import_parameters(*model, layout, params);
  ThreadPool pool(2);
  DistillBatch batch;
  sample_distill_batch(set, shape.ctx_train, 8, 12345, 0, batch);
  // TVD++ reports TVD; its per-batch reading would need a sampling pass, which the value skips.
  DistillObjective<float> objective(set, loss == DistillLoss::TvdPlusPlus ? DistillLoss::Tvd : loss,
                                    AdvantageNorm::Position);
  objective.set_batch(batch);
  LlamaTrainingPass<float> pass(layout, 8, pool);
  return pass.run(params.data(), batch.inputs, objective, nullptr);
}

class DistillTrainer : public ::testing::Test {
 protected:
  void SetUp() override {
    TrainOptions base = testing::tiny_options(dir_.path(), 1);  // writes the char vocabulary
    const GgufFile vocab = GgufFile::open(base.vocab);
    ModelConfig shape = ModelConfig::new_model(
        Architecture::Llama, 32, 2, 4, 2, 64,
        static_cast<int>(vocab.get_string_array("tokenizer.ggml.tokens").size()), 32, true);
    shape.fill_conventions();
    const ParameterLayout layout(shape);
    std::vector<float> params(layout.size());
    init_parameters<float>(layout, 1, params);
    init_ = (dir_ / "init.gguf").string();
    export_model(init_, layout, params, vocab, "init");
    set_ = chain_set(shape.n_vocab, 24, 20, 3);
    set_path_ = (dir_ / "chain.set").string();
    distill::write_set(set_path_, set_);
  }

  TrainOptions options(DistillLoss loss, AdvantageNorm norm) {
    TrainOptions o;
    o.output = (dir_ / "tuned.gguf").string();
    o.distill = set_path_;
    o.init = init_;
    o.loss = loss;
    o.advantage_norm = norm;
    o.settings.batch = 4;
    o.settings.lr = 3e-3f;
    o.settings.warmup_steps = 2;
    o.settings.steps = 40;
    o.threads = 2;
    o.eval_interval = 0;
    return o;
  }

  // From random weights for FKL; the others start, as in the paper, from a drafter that already
  // models the text (here: FKL for 30 steps), since from a near-uniform q the TVD and RKL
  // gradients are about 1/vocab of FKL's.
  void expect_lower(DistillLoss loss, AdvantageNorm norm, double factor) {
    std::string start = init_;
    if (loss != DistillLoss::Fkl) {
      TrainOptions warm = options(DistillLoss::Fkl, norm);
      warm.settings.steps = 30;
      warm.output = (dir_ / "warm.gguf").string();
      train(warm);
      start = warm.output;
    }
    const double before = loss_of(start, set_, loss);
    TrainOptions o = options(loss, norm);
    o.init = start;
    const TrainReport r = train(o);
    EXPECT_EQ(r.steps, 40u);
    const double after = loss_of((dir_ / "tuned.gguf").string(), set_, loss);
    EXPECT_LT(after, before * factor) << "before " << before << " after " << after;
  }

  aded::testing::TempDir dir_;
  std::string init_, set_path_;
  distill::DistillSet set_;
};

TEST_F(DistillTrainer, ImportReadsTheExportedWeights) {
  const auto model = Model::load(init_);
  const ParameterLayout layout(trainable_shape(*model, init_));
  std::vector<float> expected(layout.size()), imported(layout.size());
  init_parameters<float>(layout, 1, expected);
  import_parameters(*model, layout, imported);
  EXPECT_EQ(imported, expected);
}

TEST_F(DistillTrainer, ForwardKlLowersItsLoss) {
  expect_lower(DistillLoss::Fkl, AdvantageNorm::Batch, 0.9);
}
TEST_F(DistillTrainer, ReverseKlLowersItsLoss) {
  expect_lower(DistillLoss::Rkl, AdvantageNorm::Batch, 0.9);
}
TEST_F(DistillTrainer, TvdLowersItsLoss) {
  expect_lower(DistillLoss::Tvd, AdvantageNorm::Batch, 0.9);
}
TEST_F(DistillTrainer, TvdPlusPlusPerBatchLowersTvd) {
  expect_lower(DistillLoss::TvdPlusPlus, AdvantageNorm::Batch, 0.9);
}
TEST_F(DistillTrainer, TvdPlusPlusPerPositionLowersTvd) {
  expect_lower(DistillLoss::TvdPlusPlus, AdvantageNorm::Position, 0.9);
}

// A set the init model (as the target) wrote with its whole distribution kept (top k = the
// vocabulary), and a second random model to fine-tune toward it.
class RecomputedTargets : public DistillTrainer {
 protected:
  void SetUp() override {
    DistillTrainer::SetUp();
    distill::DataOptions d;
    d.target = init_;
    for (const char* text : {"the cat sat", "a dog ran far", "x = 1 + 2"}) {
      const auto file = dir_ / (std::string("prompt-") + text[0] + ".txt");
      aded::testing::write_file(file, text);
      d.prompt_files.push_back(file.string());
    }
    d.output = (dir_ / "full.set").string();
    d.samples_per_prompt = 2;
    d.top_k_probs = static_cast<int>(set_.info.n_vocab);
    d.max_tokens = 12;
    d.threads = 2;
    distill::make_distill_set(d);
    full_ = distill::read_set(d.output);
    const auto init = Model::load(init_);
    const ParameterLayout layout(trainable_shape(*init, init_));
    std::vector<float> params(layout.size());
    init_parameters<float>(layout, 2, params);
    drafter_ = (dir_ / "drafter.gguf").string();
    export_model(drafter_, layout, params, GgufFile::open(init_), "drafter");
  }
  distill::DistillSet full_;
  std::string drafter_;
};

TEST_F(RecomputedTargets, AreTheDistributionsTheSetStoresWhole) {
  ASSERT_EQ(full_.records.size(), 6u);
  TargetDistributions target(Model::load(init_), std::make_shared<ThreadPool>(2));
  const int vocab = static_cast<int>(full_.info.n_vocab), k = static_cast<int>(full_.info.top_k);
  std::vector<float> dense, stored(static_cast<size_t>(vocab));
  for (uint64_t step = 0; step < 3; ++step) {
    DistillBatch batch;
    sample_distill_batch(full_, 32, 4, 7, step, batch);
    ASSERT_GT(batch.scored_rows, 0u);
    target.compute(full_, batch, 32, dense);
    for (size_t i = 0; i < batch.row_record.size(); ++i) {
      if (batch.row_record[i] < 0) continue;
      const distill::Record& r = full_.records[static_cast<size_t>(batch.row_record[i])];
      const auto at = static_cast<size_t>(batch.row_position[i]) * static_cast<size_t>(k);
      dense_target(r.top_ids.data() + at, r.top_probs.data() + at,
                   r.rest[static_cast<size_t>(batch.row_position[i])], k, vocab, stored.data());
      for (int j = 0; j < vocab; ++j)
        ASSERT_NEAR(dense[i * static_cast<size_t>(vocab) + static_cast<size_t>(j)], stored[static_cast<size_t>(j)], 1e-6)
            << "row " << i << " token " << j;
    }
  }
}

TEST_F(RecomputedTargets, TrainingAgainstThemLowersTheLoss) {
  const double before = loss_of(drafter_, full_, DistillLoss::Fkl);
  TrainOptions o = options(DistillLoss::Fkl, AdvantageNorm::Batch);
  o.distill = (dir_ / "full.set").string();
  o.init = drafter_;
  o.distill_target = init_;
  o.distill_recompute = true;
  EXPECT_EQ(train(o).steps, 40u);
  const double after = loss_of((dir_ / "tuned.gguf").string(), full_, DistillLoss::Fkl);
  EXPECT_LT(after, before * 0.9) << "before " << before << " after " << after;
  o.distill_target.clear();
  EXPECT_THROW(train(o), InputError) << "recomputing needs the target";
}

TEST_F(DistillTrainer, SetInAnotherVocabularyIsRefused) {
  distill::DistillSet other = set_;
  other.info.n_vocab = 50;
  for (auto& r : other.records) {
    for (auto& t : r.tokens) t %= 50;
    for (auto& t : r.top_ids) t %= 50;
  }
  distill::write_set((dir_ / "other.set").string(), other);
  TrainOptions o = options(DistillLoss::Fkl, AdvantageNorm::Batch);
  o.distill = (dir_ / "other.set").string();
  EXPECT_THROW(train(o), InputError);
}

}  // namespace
}  // namespace aded::train
