#include "train/distill_objective.h"

#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "aded/error.h"
#include "aded/sampler.h"

namespace aded::train {

void sample_distill_batch(const distill::DistillSet& set, int window, int sequences, uint64_t seed,
                          uint64_t step, DistillBatch& b) {
  if (set.records.empty()) fail("the distillation set has no records");
  const uint64_t parts[2] = {seed, step};
  std::mt19937_64 rng(XXH3_64bits(parts, sizeof parts));
  const auto rows = static_cast<size_t>(window) * static_cast<size_t>(sequences);
  b.inputs.assign(rows, 0);
  b.row_record.assign(rows, -1);
  b.row_position.assign(rows, 0);
  b.scored_rows = 0;
  for (int s = 0; s < sequences; ++s) {
    const size_t index = rng() % set.records.size();
    const distill::Record& r = set.records[index];
    const auto length = static_cast<int64_t>(r.tokens.size());
    const auto start = static_cast<int64_t>(r.response_start);
    // Window starts w with w + window >= length - 1 would waste rows; w <= start - 1 keeps the
    // first response token in view.
    const int64_t last = std::max<int64_t>(0, length - 1 - window);
    const int64_t first = std::min(last, std::max<int64_t>(0, start - window));
    const int64_t w = first + static_cast<int64_t>(rng() % static_cast<uint64_t>(last - first + 1));
    const size_t base = static_cast<size_t>(s) * static_cast<size_t>(window);
    for (int64_t i = 0; i < window && w + i < length; ++i) {
      b.inputs[base + static_cast<size_t>(i)] = r.tokens[static_cast<size_t>(w + i)];
      const int64_t next = w + i + 1;  // the token this row predicts
      if (next >= start && next < length) {
        b.row_record[base + static_cast<size_t>(i)] = static_cast<int32_t>(index);
        b.row_position[base + static_cast<size_t>(i)] = static_cast<int32_t>(next - start);
        ++b.scored_rows;
      }
    }
  }
}

template <typename T>
DistillObjective<T>::DistillObjective(const distill::DistillSet& set, DistillLoss loss,
                                      AdvantageNorm norm)
    : set_(set), loss_(loss), norm_(norm) {}

template <typename T>
void DistillObjective<T>::set_batch(const DistillBatch& batch) {
  batch_ = &batch;
  const size_t rows = batch.inputs.size();
  acceptance_.assign(rows, 0.0);
  reward_.assign(rows, 0.0);
  token_.assign(rows, -1);
  advantage_.assign(rows, 0.0);
}

template <typename T>
void DistillObjective<T>::start_sampling(uint64_t seed, uint64_t step) {
  sampling_ = true;
  sample_seed_ = seed;
  sample_step_ = step;
}

// Advantages: (r - mean) / std over the scored rows' sampled rewards. All rewards equal (std 0)
// leaves no signal, and every advantage is 0.
template <typename T>
void DistillObjective<T>::finish_sampling() {
  sampling_ = false;
  double sum = 0, sum_sq = 0, n = 0;
  for (size_t i = 0; i < reward_.size(); ++i)
    if (batch_->row_record[i] >= 0) sum += reward_[i], sum_sq += reward_[i] * reward_[i], n += 1;
  if (n == 0) return;
  const double mean = sum / n, var = std::max(0.0, sum_sq / n - mean * mean);
  const double std = std::sqrt(var);
  for (size_t i = 0; i < reward_.size(); ++i)
    advantage_[i] = batch_->row_record[i] >= 0 && std > 1e-9 ? (reward_[i] - mean) / std : 0.0;
}

template <typename T>
double DistillObjective<T>::row(int64_t row, T* z, int vocab, bool gradient) const {
  const auto i = static_cast<size_t>(row);
  const int32_t record = batch_->row_record[i];
  if (record < 0) {
    if (gradient) std::fill(z, z + vocab, T(0));
    return 0;
  }
  const distill::Record& r = set_.records[static_cast<size_t>(record)];
  const int k = static_cast<int>(set_.info.top_k);
  const auto p_at = static_cast<size_t>(batch_->row_position[i]);
  thread_local std::vector<T> p, q;
  p.resize(static_cast<size_t>(vocab));
  if (dense_) {
    const float* row_p = dense_->data() + i * static_cast<size_t>(vocab);
    std::copy(row_p, row_p + vocab, p.begin());
  } else {
    dense_target(r.top_ids.data() + p_at * static_cast<size_t>(k),
                 r.top_probs.data() + p_at * static_cast<size_t>(k), r.rest[p_at], k, vocab,
                 p.data());
  }
  q.resize(static_cast<size_t>(vocab));
  softmax_into(z, vocab, q.data());
  acceptance_[i] = acceptance(p.data(), q.data(), vocab);
  if (sampling_) {
    const double u = position_uniform(sample_seed_, static_cast<int64_t>(sample_step_),
                                      static_cast<uint32_t>(row));
    double c = 0;
    int32_t x = vocab - 1;
    for (int j = 0; j < vocab; ++j) {
      c += static_cast<double>(q[static_cast<size_t>(j)]);
      if (u < c) {
        x = j;
        break;
      }
    }
    token_[i] = x;
    reward_[i] = tvd_reward(p.data(), q.data(), x);
    return 0;
  }
  const T scale = gradient ? T(1) / static_cast<T>(batch_->scored_rows) : T(0);
  double loss = 0;
  switch (loss_) {
    case DistillLoss::Fkl:
      loss = fkl_row(z, p.data(), vocab, scale);
      break;
    case DistillLoss::Rkl:
      loss = rkl_row(z, p.data(), vocab, scale);
      break;
    case DistillLoss::Tvd:
      loss = tvd_row(z, p.data(), vocab, scale, 1.0);
      break;
    case DistillLoss::TvdPlusPlus:
      loss =
          norm_ == AdvantageNorm::Position
              ? tvd_row(z, p.data(), vocab, scale, 0.0)
              : tvd_sampled_row(z, p.data(), vocab, scale, std::max(token_[i], 0), advantage_[i]);
      break;
  }
  return loss / static_cast<double>(batch_->scored_rows);
}

template <typename T>
double DistillObjective<T>::mean_acceptance() const {
  double sum = 0;
  for (size_t i = 0; i < acceptance_.size(); ++i)
    if (batch_->row_record[i] >= 0) sum += acceptance_[i];
  return batch_->scored_rows ? sum / static_cast<double>(batch_->scored_rows) : 0.0;
}

DistillLoss parse_distill_loss(const std::string& name) {
  if (name == "fkl") return DistillLoss::Fkl;
  if (name == "rkl") return DistillLoss::Rkl;
  if (name == "tvd") return DistillLoss::Tvd;
  if (name == "tvdpp") return DistillLoss::TvdPlusPlus;
  fail("--loss {}: not a distillation loss (fkl, rkl, tvd, tvdpp)", name);
}

AdvantageNorm parse_advantage_norm(const std::string& name) {
  if (name == "batch") return AdvantageNorm::Batch;
  if (name == "position") return AdvantageNorm::Position;
  fail("--tvdpp-norm {}: batch or position", name);
}

template class DistillObjective<float>;
template class DistillObjective<double>;

}  // namespace aded::train
