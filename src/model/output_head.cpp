#include "model/output_head.h"

#include "aded/error.h"
#include "model/ops.h"

namespace aded {

OutputHead::OutputHead(const Model& model, const ModelDims& dims, const kernels::KernelTable& kt,
                       bool with_greedy_head)
    : model_(model), c_(model.config()), d_(dims), kt_(kt) {
  // Made here (~0.1 s for a 32000 x 288 matrix) rather than in the first step.
  if (with_greedy_head) greedy_head_ = GreedyHead::build(model_.output(), kt_);
}

void OutputHead::project(ThreadPool& pool, const float* x, const Batch& b) {
  const size_t n = b.tokens.size();
  logit_row_.assign(n, -1);
  row_argmax_.clear();
  row_top_p_.clear();
  int rows = 0;
  for (size_t i = 0; i < n; ++i)
    if (b.want_logits.empty() || b.want_logits[i]) logit_row_[i] = rows++;
  const auto n_rows = static_cast<size_t>(rows);
  // The final norm.
  final_x_.resize(n_rows * d_.dim);
  for (size_t i = 0; i < n; ++i) {
    const int32_t r = logit_row_[i];
    if (r >= 0)
      ops::rms_norm(x + i * d_.dim, model_.output_norm().data(), c_.dim, c_.norm_eps,
                    final_x_.data() + static_cast<size_t>(r) * d_.dim);
  }
  if (rows == 0) return;
  // The output projection.
  logits_.resize(n_rows * d_.n_vocab);
  if (b.greedy_only && greedy_head_) {
    row_argmax_.resize(n_rows);
    if (b.top_probability) row_top_p_.resize(n_rows);
    greedy_head_->project(pool, final_x_.data(), d_.dim, rows, logits_.data(), d_.n_vocab, row_argmax_.data(),
                          b.top_probability ? row_top_p_.data() : nullptr);
    return;
  }
  input_.reset(final_x_.data(), d_.dim, rows, c_.dim);
  const MatMulJob logits[] = {{&model_.output(), logits_.data(), d_.n_vocab}};
  run_matmuls(pool, kt_, input_, logits);
}

size_t OutputHead::row_of(int i) const {
  if (i < 0 || static_cast<size_t>(i) >= logit_row_.size() || logit_row_[static_cast<size_t>(i)] < 0)
    throw Error(fmt::format("no logits for batch token {}", i));
  return static_cast<size_t>(logit_row_[static_cast<size_t>(i)]);
}

std::span<const float> OutputHead::logits(int i) const {
  return {logits_.data() + row_of(i) * d_.n_vocab, d_.n_vocab};
}

float OutputHead::greedy_top_probability(int i) const {
  if (row_top_p_.empty()) return -1.0f;
  return row_top_p_[row_of(i)];
}

int32_t OutputHead::greedy_argmax(int i) const {
  if (row_argmax_.empty()) return -1;
  return row_argmax_[row_of(i)];
}

}  // namespace aded
