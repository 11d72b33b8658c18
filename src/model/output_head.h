// The end of a forward: the final norm and the output projection, only for the batch tokens that
// want logits; with the full float product, or for greedy_only batches with the greedy head.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "aded/context.h"
#include "aded/model.h"
#include "aded/thread_pool.h"
#include "core/kernels/kernels.h"
#include "model/greedy_head.h"
#include "model/matmul_op.h"
#include "model/model_dims.h"

namespace aded {

class OutputHead {
 public:
  // with_greedy_head: keep a greedy head when the output matrix allows one (GreedyHead::build).
  OutputHead(const Model& model, const ModelDims& dims, const kernels::KernelTable& kt, bool with_greedy_head);

  // x: the residual stream of the batch's tokens (rows of dim floats).
  void project(ThreadPool& pool, const float* x, const Batch& batch);

  // Throws InputError naming the model's file when a row of the last projection is not finite
  // (its weights overflow or are damaged): its tokens could only be garbage. Reads each full row
  // once; for a greedy-head row, the normed input and the argmax's exact logit.
  void refuse_non_finite(const Batch& batch) const;

  // Logits of batch token i of the last projection; throws Error if it had none.
  std::span<const float> logits(int i) const;
  // The greedy head's argmax of batch token i's logits, -1 when the head did not project them.
  int32_t greedy_argmax(int i) const;
  // The greedy head's estimate of batch token i's top probability; negative when it made none.
  float greedy_top_probability(int i) const;
  const GreedyHead* greedy_head() const { return greedy_head_.get(); }

 private:
  size_t row_of(int i) const;

  const Model& model_;
  const ModelConfig& c_;
  const ModelDims& d_;
  const kernels::KernelTable& kt_;
  std::unique_ptr<GreedyHead> greedy_head_;
  std::vector<int32_t> logit_row_;   // batch index -> logits row or -1
  std::vector<float> final_x_;       // normed rows that want logits
  std::vector<float> logits_;        // [rows with logits][n_vocab]
  std::vector<int32_t> row_argmax_;  // per logits row, when the greedy head made them
  std::vector<float> row_top_p_;     // per logits row, when the greedy head estimated them
  PreparedInput input_;
};

}  // namespace aded
