// The target's distribution before every scored row of a distillation batch, recomputed by running
// the target over each row's record: the alternative to the top k a set stores (docs/distillation.md).
// The distribution is softmax(logits) at temperature 1, what distill-data keeps the top k of; here
// every token keeps its own probability instead of an even share of the rest.
#pragma once

#include <memory>
#include <vector>

#include "aded/context.h"
#include "aded/thread_pool.h"
#include "distillation/distill_set.h"
#include "train/distill_objective.h"

namespace aded::train {

class TargetDistributions {
 public:
  // Runs the target on `pool`'s threads (the trainer's: the two take turns).
  TargetDistributions(std::shared_ptr<const Model> target, std::shared_ptr<ThreadPool> pool);

  // dense[row * n_vocab, (row + 1) * n_vocab) = p before row's next token, for every scored row
  // of the batch (windows of `window` tokens, one record each); other rows are left as they are.
  void compute(const distill::DistillSet& set, const DistillBatch& batch, int window,
               std::vector<float>& dense);

 private:
  Context ctx_;
  int n_vocab_;
  std::vector<double> row_;
};

}  // namespace aded::train
