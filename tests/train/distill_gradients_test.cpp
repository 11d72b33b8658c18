// The distillation losses (train/distill_losses.h) against central finite differences in double:
// each loss on one row of logits, TVD++ through its surrogate with the normalization held fixed,
// then FKL, RKL and TVD through the whole model with the stored top-k targets of a small set.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "distillation/distill_set.h"
#include "train/distill_losses.h"
#include "train/distill_objective.h"
#include "train/gradient_check.h"
#include "train/llama_training_pass.h"
#include "train/parameter_layout.h"

namespace aded::train {
namespace {

using gradient_check::expect_gradient;
using gradient_check::random_vec;
using gradient_check::Vec;

Vec softmax(const Vec& z) {
  Vec q(z.size());
  softmax_into(z.data(), static_cast<int>(z.size()), q.data());
  return q;
}

// A row whose p and q = softmax(z) differ everywhere by more than the step moves them (TVD's
// indicator does not flip under the finite difference).
struct Row {
  Vec z, p;
};
Row make_row(int n, uint32_t seed) {
  Row r{random_vec(static_cast<size_t>(n), seed, 2.0),
        softmax(random_vec(static_cast<size_t>(n), seed + 100, 2.0))};
  return r;
}

TEST(DistillGradients, ForwardKl) {
  Row r = make_row(11, 1);
  auto loss = [&] {
    Vec z = r.z;
    return fkl_row(z.data(), r.p.data(), 11, 0.0);
  };
  Vec g = r.z;
  fkl_row(g.data(), r.p.data(), 11, 1.0);
  expect_gradient(r.z, g, loss, "fkl");
}

TEST(DistillGradients, ReverseKl) {
  Row r = make_row(11, 2);
  auto loss = [&] {
    Vec z = r.z;
    return rkl_row(z.data(), r.p.data(), 11, 0.0);
  };
  Vec g = r.z;
  rkl_row(g.data(), r.p.data(), 11, 1.0);
  expect_gradient(r.z, g, loss, "rkl");
}

TEST(DistillGradients, TotalVariation) {
  Row r = make_row(13, 3);
  auto loss = [&] {
    Vec z = r.z;
    return tvd_row(z.data(), r.p.data(), 13, 0.0);
  };
  Vec g = r.z;
  const double value = tvd_row(g.data(), r.p.data(), 13, 1.0);
  // 1 - sum min(p, q) = 1/2 sum |p - q|.
  const Vec q = softmax(r.z);
  double half_l1 = 0;
  for (size_t i = 0; i < q.size(); ++i) half_l1 += 0.5 * std::fabs(r.p[i] - q[i]);
  EXPECT_NEAR(value, half_l1, 1e-14);
  expect_gradient(r.z, g, loss, "tvd");
  // The exact gradient is the expected policy gradient -E_{x~q}[r(x) grad log q(x)].
  Vec pg(q.size(), 0.0);
  for (size_t x = 0; x < q.size(); ++x) {
    const double reward = r.p[x] > q[x] ? 1.0 : 0.0;
    for (size_t j = 0; j < q.size(); ++j) pg[j] -= q[x] * reward * ((j == x ? 1.0 : 0.0) - q[j]);
  }
  for (size_t j = 0; j < q.size(); ++j) EXPECT_NEAR(g[j], pg[j], 1e-15);
}

// Per position: the gradient of TVD / std with the std of that position held fixed.
TEST(DistillGradients, TvdPlusPlusPerPosition) {
  Row r = make_row(9, 4);
  const Vec q = softmax(r.z);
  double m = 0;
  for (size_t i = 0; i < q.size(); ++i)
    if (r.p[i] > q[i]) m += q[i];
  const double inv_std = 1 / std::sqrt(m * (1 - m));
  Vec g = r.z, g_fixed = r.z;
  tvd_row(g.data(), r.p.data(), 9, 1.0, 0.0);  // computes the std itself
  tvd_row(g_fixed.data(), r.p.data(), 9, 1.0, inv_std);
  for (size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], g_fixed[i], 1e-15);
  auto surrogate = [&] {
    Vec z = r.z;
    return tvd_row(z.data(), r.p.data(), 9, 0.0) * inv_std;
  };
  expect_gradient(r.z, g, surrogate, "tvdpp position");
}

// Per batch: the gradient of -A log q(x) for the sampled token x and its fixed advantage A.
TEST(DistillGradients, TvdPlusPlusPerBatch) {
  Row r = make_row(9, 5);
  const int32_t token = 4;
  const double advantage = -0.7;
  Vec g = r.z;
  tvd_sampled_row(g.data(), r.p.data(), 9, 1.0, token, advantage);
  auto surrogate = [&] { return -advantage * std::log(softmax(r.z)[token]); };
  expect_gradient(r.z, g, surrogate, "tvdpp batch");
}

TEST(DistillGradients, EveryLossIsZeroWhenTheDrafterIsTheTarget) {
  Row r = make_row(8, 6);
  r.p = softmax(r.z);
  Vec z = r.z;
  EXPECT_NEAR(fkl_row(z.data(), r.p.data(), 8, 0.0), 0, 1e-14);
  EXPECT_NEAR(rkl_row(z.data(), r.p.data(), 8, 0.0), 0, 1e-14);
  EXPECT_NEAR(tvd_row(z.data(), r.p.data(), 8, 0.0), 0, 1e-14);
  EXPECT_NEAR(acceptance(r.p.data(), r.p.data(), 8), 1, 1e-14);
}

TEST(DistillGradients, DenseTargetSpreadsTheRest) {
  const int32_t ids[2] = {3, 0};
  const float probs[2] = {0.5f, 0.3f};
  Vec p(6);
  dense_target(ids, probs, 0.2f, 2, 6, p.data());
  EXPECT_NEAR(p[3], 0.5, 1e-7);
  EXPECT_NEAR(p[0], 0.3, 1e-7);
  for (int i : {1, 2, 4, 5}) EXPECT_NEAR(p[static_cast<size_t>(i)], 0.05, 1e-7);
}

// A set in a vocabulary of `vocab` with records of random tokens and random top-k targets.
distill::DistillSet random_set(int vocab, int k, int records, int length, uint32_t seed) {
  std::mt19937 rng(seed);
  distill::DistillSet s;
  s.info.n_vocab = static_cast<uint32_t>(vocab);
  s.info.top_k = static_cast<uint32_t>(k);
  for (int r = 0; r < records; ++r) {
    distill::Record rec;
    rec.response_start = 2;
    for (int i = 0; i < length; ++i)
      rec.tokens.push_back(static_cast<int32_t>(rng() % static_cast<uint32_t>(vocab)));
    for (uint32_t p = 0; p < rec.response_length(); ++p) {
      std::vector<int32_t> ids(static_cast<size_t>(vocab));
      for (int i = 0; i < vocab; ++i) ids[static_cast<size_t>(i)] = i;
      std::shuffle(ids.begin(), ids.end(), rng);
      double left = 1;
      for (int i = 0; i < k; ++i) {
        const double take = left * (0.3 + 0.4 * static_cast<double>(rng() % 100) / 100.0);
        rec.top_ids.push_back(ids[static_cast<size_t>(i)]);
        rec.top_probs.push_back(static_cast<float>(take));
        left -= static_cast<float>(take);
      }
      float kept = 0;
      for (int i = 0; i < k; ++i)
        kept += rec.top_probs[rec.top_probs.size() - 1 - static_cast<size_t>(i)];
      rec.rest.push_back(1.0f - kept);
    }
    s.records.push_back(rec);
  }
  return s;
}

void check_model(DistillLoss loss) {
  const ModelConfig shape =
      ModelConfig::new_model(Architecture::Llama, 8, 1, 2, 1, 12, 11, 6, true);
  ThreadPool pool(2);
  const ParameterLayout layout(shape);
  Vec params(layout.size());
  init_parameters<double>(layout, 3, params);
  Vec noise = random_vec(params.size(), 21, 0.4);
  for (const ParameterTensor& t : layout.tensors())
    for (size_t j = 0; j < t.size(); ++j)
      params[t.offset + j] += noise[t.offset + j] * (t.is_matrix ? 1.0 : 0.5);
  const distill::DistillSet set = random_set(11, 3, 4, 5, 9);
  DistillBatch batch;
  sample_distill_batch(set, shape.ctx_train, 2, 1, 0, batch);
  ASSERT_GT(batch.scored_rows, 0u);
  DistillObjective<double> objective(set, loss, AdvantageNorm::Position);
  objective.set_batch(batch);
  LlamaTrainingPass<double> pass(layout, 2, pool);
  Vec grads(layout.size(), 0.0);
  pass.run(params.data(), batch.inputs, objective, grads.data());
  for (const ParameterTensor& t : layout.tensors()) {
    Vec values(params.begin() + static_cast<ptrdiff_t>(t.offset),
               params.begin() + static_cast<ptrdiff_t>(t.offset + t.size()));
    Vec analytic(grads.begin() + static_cast<ptrdiff_t>(t.offset),
                 grads.begin() + static_cast<ptrdiff_t>(t.offset + t.size()));
    auto tensor_loss = [&] {
      std::copy(values.begin(), values.end(), params.begin() + static_cast<ptrdiff_t>(t.offset));
      return pass.run(params.data(), batch.inputs, objective, nullptr);
    };
    expect_gradient(values, analytic, tensor_loss, t.name.c_str());
    std::copy(values.begin(), values.end(), params.begin() + static_cast<ptrdiff_t>(t.offset));
  }
}

TEST(DistillGradients, WholeModelForwardKl) {
  check_model(DistillLoss::Fkl);
}
TEST(DistillGradients, WholeModelReverseKl) {
  check_model(DistillLoss::Rkl);
}
TEST(DistillGradients, WholeModelTotalVariation) {
  check_model(DistillLoss::Tvd);
}

// Rows without a target (prompt, padding) carry neither loss nor gradient.
TEST(DistillGradients, BatchScoresOnlyResponseRows) {
  const distill::DistillSet set = random_set(11, 3, 3, 5, 10);
  DistillBatch batch;
  sample_distill_batch(set, 8, 3, 1, 0, batch);
  // Each record: 5 tokens, response from 2: rows 1, 2, 3 predict tokens 2, 3, 4.
  EXPECT_EQ(batch.scored_rows, 9u);
  for (int s = 0; s < 3; ++s) {
    for (int i = 0; i < 8; ++i) {
      const bool scored = i >= 1 && i <= 3;
      EXPECT_EQ(batch.row_record[static_cast<size_t>(s * 8 + i)] >= 0, scored) << s << " " << i;
      if (scored) {
        EXPECT_EQ(batch.row_position[static_cast<size_t>(s * 8 + i)], i - 1);
      }
    }
  }
}

}  // namespace
}  // namespace aded::train
