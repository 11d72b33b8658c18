// Every backward of the trainer against central finite differences, in double precision on tiny
// shapes: each op alone (RMSNorm, RoPE, SwiGLU, cross-entropy, the linear layer's GEMMs,
// attention with grouped-query heads), then the whole model (embedding, tied and separate output).
// Tolerance: |analytic - numeric| <= 1e-7 + 1e-6 |numeric|, with step h = 1e-5 (the error of a
// central difference is O(h^2) plus rounding of order 1e-16 / h).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "train/attention.h"
#include "train/blas.h"
#include "train/gradient_check.h"
#include "train/llama_training_pass.h"
#include "train/parameter_layout.h"
#include "train/tensor_ops.h"

namespace aded::train {
namespace {

using gradient_check::expect_gradient;
using gradient_check::random_vec;
using gradient_check::Vec;

double dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

TEST(TrainGradients, RmsNorm) {
  const int n = 7;
  Vec x = random_vec(n, 1), w = random_vec(n, 2), r = random_vec(n, 3);
  auto loss = [&] {
    Vec y(n);
    rms_norm_forward(x.data(), w.data(), n, 1e-5, y.data());
    return dot(r, y);
  };
  Vec y(n), dx(n, 0.0), dw(n, 0.0);
  const double inv = rms_norm_forward(x.data(), w.data(), n, 1e-5, y.data());
  rms_norm_backward(x.data(), w.data(), inv, r.data(), n, dx.data(), dw.data());
  expect_gradient(x, dx, loss, "dx");
  expect_gradient(w, dw, loss, "dweight");
}

TEST(TrainGradients, RmsNormForwardMatchesTheInferenceFormula) {
  const int n = 5;
  std::vector<float> x = {0.5f, -1.0f, 2.0f, 0.25f, -0.75f}, w = {1.0f, 0.5f, 2.0f, -1.0f, 1.5f},
                     y(n);
  rms_norm_forward(x.data(), w.data(), n, 1e-5f, y.data());
  float ss = 0;
  for (float v : x) ss += v * v;
  const float scale = 1.0f / std::sqrt(ss / n + 1e-5f);
  for (int j = 0; j < n; ++j) EXPECT_EQ(y[j], w[j] * (scale * x[j]));
}

TEST(TrainGradients, Rope) {
  const int heads = 2, head_dim = 6, seq = 4;
  const RopeTable<double> table(seq, head_dim, 10000.0f);
  const int pos = 3;
  const double* c = table.cos.data() + pos * table.half;
  const double* s = table.sin.data() + pos * table.half;
  Vec x = random_vec(heads * head_dim, 4), r = random_vec(heads * head_dim, 5);
  auto loss = [&] {
    Vec y = x;
    rope_forward(y.data(), heads, head_dim, c, s);
    return dot(r, y);
  };
  Vec dx = r;
  rope_backward(dx.data(), heads, head_dim, c, s);
  expect_gradient(x, dx, loss, "dx");
  // Adjacent pairs, frequency base^(-2i/head_dim).
  Vec y = {1, 0, 1, 0, 1, 0};
  rope_forward(y.data(), 1, head_dim, c, s);
  for (int i = 0; i < head_dim / 2; ++i) {
    const double theta = pos * std::pow(10000.0, -2.0 * i / head_dim);
    EXPECT_NEAR(y[2 * i], std::cos(theta), 1e-12);
    EXPECT_NEAR(y[2 * i + 1], std::sin(theta), 1e-12);
  }
}

TEST(TrainGradients, SwiGlu) {
  const int n = 9;
  Vec gate = random_vec(n, 6, 2.0), up = random_vec(n, 7), r = random_vec(n, 8);
  auto loss = [&] {
    Vec h(n);
    swiglu_forward(gate.data(), up.data(), n, h.data());
    return dot(r, h);
  };
  Vec dgate(n), dup(n);
  swiglu_backward(gate.data(), up.data(), r.data(), n, dgate.data(), dup.data());
  expect_gradient(gate, dgate, loss, "dgate");
  expect_gradient(up, dup, loss, "dup");
}

TEST(TrainGradients, SoftmaxCrossEntropy) {
  const int n = 13, target = 4;
  Vec logits = random_vec(n, 9, 3.0);
  auto loss = [&] {
    Vec copy = logits;
    return softmax_cross_entropy(copy.data(), n, target, 0.0);
  };
  Vec grad = logits;
  const double value = softmax_cross_entropy(grad.data(), n, target, 1.0);
  EXPECT_NEAR(value, loss(), 1e-14);
  expect_gradient(logits, grad, loss, "dlogits");
  // A scaled gradient is the gradient of the scaled loss.
  Vec half = logits;
  softmax_cross_entropy(half.data(), n, target, 0.5);
  for (int i = 0; i < n; ++i) EXPECT_NEAR(half[i], 0.5 * grad[i], 1e-15);
}

TEST(TrainGradients, LinearLayer) {
  const int rows = 37, in = 5, out = 3;  // odd sizes: uneven splits across threads
  ThreadPool pool(2);
  Vec x = random_vec(rows * in, 10), w = random_vec(out * in, 11), r = random_vec(rows * out, 12);
  auto loss = [&] {
    Vec y(rows * out);
    linear_forward<double>(pool, rows, in, out, x.data(), in, w.data(), 0.0, y.data(), out);
    return dot(r, y);
  };
  Vec dx(rows * in), dw(out * in, 0.0);
  linear_input_grad<double>(pool, rows, in, out, r.data(), out, w.data(), 0.0, dx.data(), in);
  linear_weight_grad<double>(pool, rows, in, out, r.data(), out, x.data(), in, dw.data());
  expect_gradient(x, dx, loss, "dx");
  expect_gradient(w, dw, loss, "dweight");
  // beta = 1 accumulates.
  Vec y(rows * out, 1.0), y0(rows * out, 0.0);
  linear_forward<double>(pool, rows, in, out, x.data(), in, w.data(), 1.0, y.data(), out);
  linear_forward<double>(pool, rows, in, out, x.data(), in, w.data(), 0.0, y0.data(), out);
  for (int i = 0; i < rows * out; ++i) EXPECT_NEAR(y[i], y0[i] + 1.0, 1e-12);
}

// Two query heads sharing one kv head, 70 rows (more than one row block), rows stored with a
// stride as they are inside the fused q|k|v matrix.
TEST(TrainGradients, AttentionWithGroupedQueryHeads) {
  const int seq = 70, hd = 4, group = 2, ld = 16;
  Vec q = random_vec(seq * ld, 13), k = random_vec(seq * ld, 14), v = random_vec(seq * ld, 15);
  Vec r = random_vec(seq * group * hd, 16);
  Vec scratch(2 * seq * seq), lse(seq);
  auto forward = [&](Vec& out) {
    for (int h = 0; h < group; ++h) {
      const HeadMatrices<double> m{q.data() + h * hd, k.data(), v.data(), ld, ld};
      attention_head_forward(seq, hd, m, out.data() + h * hd, group * hd, lse.data(),
                             scratch.data());
    }
  };
  auto loss = [&] {
    Vec out(seq * group * hd);
    forward(out);
    return dot(r, out);
  };
  // Analytic: q columns of each head, shared k and v accumulated over the group.
  Vec dq(seq * ld, 0.0), dk(seq * ld, 0.0), dv(seq * ld, 0.0);
  for (int h = 0; h < group; ++h) {
    Vec out(seq * group * hd);
    const HeadMatrices<double> m{q.data() + h * hd, k.data(), v.data(), ld, ld};
    attention_head_forward(seq, hd, m, out.data() + h * hd, group * hd, lse.data(), scratch.data());
    attention_head_backward(seq, hd, m, lse.data(), r.data() + h * hd, group * hd,
                            dq.data() + h * hd, ld, dk.data(), dv.data(), ld, scratch.data());
  }
  // Only the columns the heads use carry gradients; check those.
  auto used = [&](Vec& x, const Vec& analytic, int cols, const char* what) {
    Vec sub, grad;
    std::vector<size_t> where;
    for (int i = 0; i < seq; ++i)
      for (int j = 0; j < cols; ++j) where.push_back(static_cast<size_t>(i * ld + j));
    for (size_t idx : where) grad.push_back(analytic[idx]);
    Vec values;
    for (size_t idx : where) values.push_back(x[idx]);
    auto sub_loss = [&] {
      for (size_t n = 0; n < where.size(); ++n) x[where[n]] = values[n];
      return loss();
    };
    expect_gradient(values, grad, sub_loss, what);
    for (size_t n = 0; n < where.size(); ++n) x[where[n]] = values[n];
  };
  used(q, dq, group * hd, "dq");
  used(k, dk, hd, "dk");
  used(v, dv, hd, "dv");
}

TEST(TrainGradients, AttentionIsCausal) {
  const int seq = 20, hd = 4;
  Vec q = random_vec(seq * hd, 17), k = random_vec(seq * hd, 18), v = random_vec(seq * hd, 19);
  Vec scratch(2 * seq * seq), lse(seq), out(seq * hd), out2(seq * hd);
  const HeadMatrices<double> m{q.data(), k.data(), v.data(), hd, hd};
  attention_head_forward(seq, hd, m, out.data(), hd, lse.data(), scratch.data());
  for (int j = 10 * hd; j < seq * hd; ++j) k[j] += 5.0, v[j] -= 3.0;  // change the future only
  attention_head_forward(seq, hd, m, out2.data(), hd, lse.data(), scratch.data());
  for (int j = 0; j < 10 * hd; ++j) EXPECT_EQ(out[j], out2[j]);
  // Row 0 sees only itself.
  for (int j = 0; j < hd; ++j) EXPECT_NEAR(out[j], v[j], 1e-15);
}

// The whole model: loss = mean cross-entropy of the training pass, every parameter checked.
void check_model(const ModelConfig& shape, int sequences, int threads) {
  ThreadPool pool(threads);
  const ParameterLayout layout(shape);
  Vec params(layout.size());
  init_parameters<double>(layout, 3, params);
  // Larger weights than the initial 0.02 make every path matter; norm weights around 1.
  Vec noise = random_vec(params.size(), 21, 0.4);
  for (const ParameterTensor& t : layout.tensors())
    for (size_t j = 0; j < t.size(); ++j)
      params[t.offset + j] += noise[t.offset + j] * (t.is_matrix ? 1.0 : 0.5);
  std::mt19937 rng(5);
  const size_t n = static_cast<size_t>(sequences * shape.ctx_train);
  std::vector<int32_t> inputs(n), targets(n);
  for (size_t i = 0; i < n; ++i) {
    inputs[i] = static_cast<int32_t>(rng() % static_cast<uint32_t>(shape.n_vocab));
    targets[i] = static_cast<int32_t>(rng() % static_cast<uint32_t>(shape.n_vocab));
  }
  inputs[1] = inputs[0];  // a repeated token: its embedding row gets two contributions
  LlamaTrainingPass<double> pass(layout, sequences, pool);
  Vec grads(layout.size(), 0.0);
  const double loss = pass.run(params.data(), inputs, targets, grads.data());
  EXPECT_NEAR(loss, pass.run(params.data(), inputs, targets, nullptr), 1e-13);
  for (const ParameterTensor& t : layout.tensors()) {
    Vec values(params.begin() + static_cast<ptrdiff_t>(t.offset),
               params.begin() + static_cast<ptrdiff_t>(t.offset + t.size()));
    Vec analytic(grads.begin() + static_cast<ptrdiff_t>(t.offset),
                 grads.begin() + static_cast<ptrdiff_t>(t.offset + t.size()));
    auto tensor_loss = [&] {
      std::copy(values.begin(), values.end(), params.begin() + static_cast<ptrdiff_t>(t.offset));
      return pass.run(params.data(), inputs, targets, nullptr);
    };
    expect_gradient(values, analytic, tensor_loss, t.name.c_str());
    std::copy(values.begin(), values.end(), params.begin() + static_cast<ptrdiff_t>(t.offset));
  }
}

TEST(TrainGradients, WholeModelTiedOutputWithGroupedQueryHeads) {
  check_model(ModelConfig::new_model(Architecture::Llama, 8, 2, 2, 1, 12, 11, 5, true), 2, 1);
}

TEST(TrainGradients, WholeModelSeparateOutput) {
  check_model(ModelConfig::new_model(Architecture::Llama, 8, 1, 2, 2, 10, 9, 4, false), 3, 2);
}

// float and double passes agree on a model of a realistic aspect ratio.
TEST(TrainGradients, FloatPassMatchesDouble) {
  const ParameterLayout layout(
      ModelConfig::new_model(Architecture::Llama, 64, 2, 4, 2, 96, 300, 80, true));
  ThreadPool pool(2);
  std::vector<float> pf(layout.size()), gf(layout.size(), 0.0f);
  init_parameters<float>(layout, 7, pf);
  Vec pd(pf.begin(), pf.end()), gd(layout.size(), 0.0);
  std::mt19937 rng(1);
  std::vector<int32_t> inputs(2 * 80), targets(2 * 80);
  for (auto& t : inputs) t = static_cast<int32_t>(rng() % 300);
  for (auto& t : targets) t = static_cast<int32_t>(rng() % 300);
  LlamaTrainingPass<float> f(layout, 2, pool);
  LlamaTrainingPass<double> d(layout, 2, pool);
  const double lf = f.run(pf.data(), inputs, targets, gf.data());
  const double ld = d.run(pd.data(), inputs, targets, gd.data());
  EXPECT_NEAR(lf, ld, 1e-5);
  double err = 0, norm = 0;
  for (size_t i = 0; i < gd.size(); ++i) {
    err += (gf[i] - gd[i]) * (gf[i] - gd[i]);
    norm += gd[i] * gd[i];
  }
  EXPECT_LT(std::sqrt(err / norm), 1e-4);
}

}  // namespace
}  // namespace aded::train
