#include "train/target_distributions.h"

#include <algorithm>
#include <cmath>
#include <span>

#include "aded/error.h"

namespace aded::train {

namespace {

// The index of the token whose logits give the distribution of response position `position`.
size_t before(const distill::Record& r, int32_t position) {
  return r.response_start + static_cast<size_t>(position) - 1;
}

}  // namespace

TargetDistributions::TargetDistributions(std::shared_ptr<const Model> target,
                                         std::shared_ptr<ThreadPool> pool)
    : ctx_(target, [&] {
        ContextOptions o;
        o.pool = std::move(pool);
        return o;
      }()),
      n_vocab_(target->config().n_vocab) {}

void TargetDistributions::compute(const distill::DistillSet& set, const DistillBatch& batch,
                                  int window, std::vector<float>& dense) {
  const auto vocab = static_cast<size_t>(n_vocab_);
  if (set.info.n_vocab != static_cast<uint32_t>(n_vocab_))
    fail("the target's vocabulary ({} tokens) is not the set's ({})", n_vocab_, set.info.n_vocab);
  dense.resize(batch.inputs.size() * vocab);
  const auto rows_per_sequence = static_cast<size_t>(window);
  for (size_t s0 = 0; s0 < batch.inputs.size(); s0 += rows_per_sequence) {
    // A window's scored rows all score against one record: run the target over that record up to
    // the last token they predict, with logits where each of them stands.
    int32_t record = -1;
    size_t last = 0;
    for (size_t i = s0; i < s0 + rows_per_sequence; ++i)
      if (batch.row_record[i] >= 0) {
        record = batch.row_record[i];
        last = std::max(last, static_cast<size_t>(batch.row_position[i]));
      }
    if (record < 0) continue;
    const distill::Record& r = set.records[static_cast<size_t>(record)];
    // Row position p predicts token response_start + p, from the logits at the token before it.
    const size_t length = r.response_start + last + 1;
    if (length > static_cast<size_t>(ctx_.n_ctx()))
      fail("a record of the set has {} tokens, more than the target's context ({})", length,
           ctx_.n_ctx());
    Batch b = Batch::sequence(std::span<const int32_t>(r.tokens.data(), length), 0, false);
    b.want_logits.assign(length, 0);
    for (size_t i = s0; i < s0 + rows_per_sequence; ++i)
      if (batch.row_record[i] >= 0) b.want_logits[before(r, batch.row_position[i])] = 1;
    ctx_.truncate(0);
    ctx_.forward(b);
    for (size_t i = s0; i < s0 + rows_per_sequence; ++i) {
      if (batch.row_record[i] < 0) continue;
      const auto logits = ctx_.logits(static_cast<int>(before(r, batch.row_position[i])));
      // The arithmetic of distill-data's top_k_distribution, so that the probabilities a set
      // stores are these bits too.
      const float max = *std::max_element(logits.begin(), logits.end());
      double sum = 0;
      row_.resize(vocab);
      for (size_t j = 0; j < vocab; ++j) sum += row_[j] = std::exp(static_cast<double>(logits[j] - max));
      float* p = dense.data() + i * vocab;
      for (size_t j = 0; j < vocab; ++j) p[j] = static_cast<float>(row_[j] / sum);
    }
  }
  ctx_.truncate(0);
}

}  // namespace aded::train
