// Training batches from a distillation set and the loss on them: each sequence of the batch is a
// window of one record (prompt and response), and every row whose next token is a response token
// is scored against the target's stored distribution there (distill_losses.h); the other rows
// (prompt, padding) carry no loss. The loss is the mean over the scored rows.
#pragma once

#include <cstdint>
#include <vector>

#include "distillation/distill_set.h"
#include "train/distill_losses.h"
#include "train/llama_training_pass.h"

namespace aded::train {

struct DistillBatch {
  std::vector<int32_t> inputs;        // sequences x window tokens
  std::vector<int32_t> row_record;    // per row: the record it scores against, -1 for none
  std::vector<int32_t> row_position;  // per row: the response position in that record
  size_t scored_rows = 0;
};

// `sequences` records drawn with replacement, a pure function of (seed, step); from each, the
// window of `window` tokens that starts at a random place that keeps its first response token
// in view when the record is longer than the window. Padding (token 0) fills short records.
void sample_distill_batch(const distill::DistillSet& set, int window, int sequences, uint64_t seed,
                          uint64_t step, DistillBatch& batch);

template <typename T>
class DistillObjective : public OutputObjective<T> {
 public:
  DistillObjective(const distill::DistillSet& set, DistillLoss loss, AdvantageNorm norm);

  // The batch the next passes score.
  void set_batch(const DistillBatch& batch);
  // Scores rows against these dense distributions (n_vocab floats per batch row, as
  // TargetDistributions computes them) instead of the set's stored top k; null: the stored ones.
  void set_dense_targets(const std::vector<float>* dense) { dense_ = dense; }
  // TVD++ per batch needs a first pass without gradient in which every scored row draws its token
  // x ~ q (uniforms from (seed, step, row)); finish_sampling() then turns the rewards into
  // advantages for the pass with gradient.
  bool needs_sampling() const {
    return loss_ == DistillLoss::TvdPlusPlus && norm_ == AdvantageNorm::Batch;
  }
  void start_sampling(uint64_t seed, uint64_t step);
  void finish_sampling();

  double row(int64_t row, T* logits, int vocab, bool gradient) const override;
  // Mean of sum min(p, q) over the scored rows of the last pass: the acceptance rate of
  // speculative sampling on the batch.
  double mean_acceptance() const;

 private:
  const distill::DistillSet& set_;
  DistillLoss loss_;
  AdvantageNorm norm_;
  const DistillBatch* batch_ = nullptr;
  const std::vector<float>* dense_ = nullptr;
  bool sampling_ = false;
  uint64_t sample_seed_ = 0, sample_step_ = 0;
  // Per row, each written by the one thread that owns the row.
  mutable std::vector<double> acceptance_, reward_;
  mutable std::vector<int32_t> token_;
  std::vector<double> advantage_;
};

DistillLoss parse_distill_loss(const std::string& name);      // fkl, rkl, tvd, tvdpp
AdvantageNorm parse_advantage_norm(const std::string& name);  // batch, position

}  // namespace aded::train
