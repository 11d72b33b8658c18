#include "model/output_head.h"

#include <cmath>

#include "aded/error.h"
#include "model/ops.h"

namespace aded {

OutputHead::OutputHead(const Model& model, const ModelDims& dims, const kernels::KernelTable& kt,
                       bool with_greedy_head)
    : model_(model), c_(model.config()), d_(dims), kt_(kt) {
  // Made here (~0.1 s for a 32000 x 288 matrix) rather than in the first step.
  // Soft-capped or scaled logits (Gemma 2, Granite) keep their argmax but not the head's
  // probability estimate.
  if (with_greedy_head && c_.final_softcap == 0 && c_.logit_scale == 1.0f)
    greedy_head_ = GreedyHead::build(model_.output(), kt_);
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
      ops::model_norm_rows(c_, x + i * d_.dim, d_.dim, model_.output_norm().data(),
                           model_.output_norm_bias().data(), 1, final_x_.data() + static_cast<size_t>(r) * d_.dim, d_.dim);
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
  if (c_.final_softcap > 0) kt_.soft_cap(logits_.data(), n_rows * d_.n_vocab, c_.final_softcap);
  if (c_.logit_scale != 1.0f) {
    const float inverse = 1.0f / c_.logit_scale;  // as llama.cpp scales them
    for (float& l : logits_) l *= inverse;
  }
}

void OutputHead::refuse_non_finite(const Batch& b) const {
  for (size_t i = 0; i < logit_row_.size(); ++i) {
    if (logit_row_[i] < 0) continue;
    const auto r = static_cast<size_t>(logit_row_[i]);
    const float* row = logits_.data() + r * d_.n_vocab;
    int64_t bad = -1;
    if (!row_argmax_.empty()) {
      // The other logits of a greedy row are -inf on purpose; a non-finite input shows in the
      // argmax's logit (the head then computes the full row, whose argmax is NaN or inf).
      const float* x = final_x_.data() + r * d_.dim;
      for (size_t k = 0; k < d_.dim && bad < 0; ++k)
        if (!std::isfinite(x[k])) bad = row_argmax_[r];
      if (!std::isfinite(row[row_argmax_[r]])) bad = row_argmax_[r];
    } else {
      for (size_t t = 0; t < d_.n_vocab && bad < 0; ++t)
        if (!std::isfinite(row[t])) bad = static_cast<int64_t>(t);
    }
    if (bad >= 0)
      fail("{}: the model computes non-finite logits ({} for token {} at position {}): its weights "
           "overflow or are damaged, so its output could only be garbage",
           model_.gguf().path(), row[bad], bad, b.positions[i]);
  }
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
