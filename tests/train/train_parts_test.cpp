// The trainer's smaller parts: the fast exp kernel, AdamW, clipping, the learning-rate schedule,
// the shape checks, document splitting, text checks and the batch sampler.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "aded/error.h"
#include "core/cpu_features.h"
#include "train/adamw.h"
#include "train/batch_sampler.h"
#include "train/token_corpus.h"
#include "train/trainer.h"
#include "train/vector_kernels.h"

namespace aded::train {
namespace {

TEST(TrainKernels, FastExpMatchesStdExp) {
  if (!cpu_features().avx2) GTEST_SKIP() << "no AVX2";
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-100.0f, 0.0f);
  for (int n : {1, 7, 8, 15, 16, 17, 33, 1000, 32000}) {
    std::vector<float> x(static_cast<size_t>(n)), fast(x.size()), ref(x.size());
    for (auto& v : x) v = dist(rng);
    x[0] = 0.0f;
    const float shift = row_max_reference(x.data(), n);
    EXPECT_EQ(row_max_avx2(x.data(), n), shift);
    const float sum_fast = exp_and_sum_avx2(x.data(), shift, fast.data(), n);
    const float sum_ref = exp_and_sum_reference(x.data(), shift, ref.data(), n);
    for (int i = 0; i < n; ++i) {
      // Below exp(-87.3) the fast path flushes to zero.
      if (x[static_cast<size_t>(i)] - shift < -87.0f) continue;
      EXPECT_NEAR(fast[static_cast<size_t>(i)], ref[static_cast<size_t>(i)],
                  3e-7f * ref[static_cast<size_t>(i)])
          << "n " << n << " i " << i << " x " << x[static_cast<size_t>(i)];
    }
    EXPECT_NEAR(sum_fast, sum_ref, 1e-5f * sum_ref);
  }
  float big = 88.0f, out;
  exp_and_sum_avx2(&big, 0.0f, &out, 1);
  EXPECT_NEAR(out, std::exp(88.0f), 1e-6f * std::exp(88.0f));
}

TEST(TrainKernels, FastSwiGluMatchesTheReference) {
  if (!cpu_features().avx2) GTEST_SKIP() << "no AVX2";
  const int n = 1003;  // not a multiple of 8
  std::mt19937 rng(2);
  std::normal_distribution<float> dist(0.0f, 4.0f);
  std::vector<float> gate(n), up(n), dh(n), h1(n), h2(n), dg1(n), dg2(n), du1(n), du2(n);
  for (int i = 0; i < n; ++i) gate[i] = dist(rng), up[i] = dist(rng), dh[i] = dist(rng);
  gate[0] = 100.0f, gate[1] = -100.0f, gate[2] = 0.0f;
  swiglu_forward_avx2(gate.data(), up.data(), n, h1.data());
  swiglu_forward_reference(gate.data(), up.data(), n, h2.data());
  swiglu_backward_avx2(gate.data(), up.data(), dh.data(), n, dg1.data(), du1.data());
  swiglu_backward_reference(gate.data(), up.data(), dh.data(), n, dg2.data(), du2.data());
  for (int i = 0; i < n; ++i) {
    EXPECT_NEAR(h1[i], h2[i], 1e-6f * (1 + std::fabs(h2[i]))) << i;
    EXPECT_NEAR(dg1[i], dg2[i], 1e-6f * (1 + std::fabs(dg2[i]))) << i;
    EXPECT_NEAR(du1[i], du2[i], 1e-6f * (1 + std::fabs(du2[i]))) << i;
  }
}

TEST(TrainKernels, FastAdamWMatchesTheReference) {
  if (!cpu_features().avx2) GTEST_SKIP() << "no AVX2";
  const size_t n = 1001;
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> p1(n), g(n), m1(n), v1(n);
  for (size_t i = 0; i < n; ++i)
    p1[i] = dist(rng), g[i] = dist(rng), m1[i] = 0.1f * dist(rng),
    v1[i] = 0.01f * std::fabs(dist(rng));
  std::vector<float> p2 = p1, m2 = m1, v2 = v1;
  const AdamWConstants c{0.9f, 0.95f, 1e-8f, 0.7f, 1e-3f, 1.3f, 0.9999f};
  adamw_update_avx2(p1.data(), g.data(), m1.data(), v1.data(), n, c);
  adamw_update_reference(p2.data(), g.data(), m2.data(), v2.data(), n, c);
  // The same operations in the same order: bitwise equal.
  EXPECT_EQ(p1, p2);
  EXPECT_EQ(m1, m2);
  EXPECT_EQ(v1, v2);
}

ModelConfig small_shape() {
  return ModelConfig::new_model(Architecture::Llama, 8, 1, 2, 1, 8, 5, 4, true);
}

TEST(TrainAdamW, OneStepFollowsTheFormula) {
  const ParameterLayout layout(small_shape());
  ThreadPool pool(2);
  AdamW adam(layout, {0.9f, 0.95f, 1e-8f, 0.1f});
  std::vector<float> params(layout.size(), 0.5f), grads(layout.size(), 0.0f);
  for (size_t i = 0; i < grads.size(); ++i) grads[i] = 0.01f * static_cast<float>(i % 7) - 0.03f;
  const std::vector<float> before = params;
  const float lr = 1e-2f;
  adam.step(pool, params, grads, lr, 0.5f);
  for (const ParameterTensor& t : layout.tensors()) {
    for (size_t j = 0; j < t.size(); ++j) {
      const size_t i = t.offset + j;
      const double g = 0.5 * grads[i];
      const double m = 0.1 * g / 0.1, v = 0.05 * g * g / 0.05;  // bias-corrected after one step
      const double decay = t.is_matrix ? 1.0 - lr * 0.1 : 1.0;
      const double expected = before[i] * decay - lr * m / (std::sqrt(v) + 1e-8);
      EXPECT_NEAR(params[i], expected, 1e-6) << t.name;
    }
  }
  EXPECT_EQ(adam.steps(), 1u);
}

TEST(TrainAdamW, ClippingAndNorm) {
  ThreadPool pool(2);
  std::vector<float> g(5000, 0.0f);
  g[3] = 3.0f, g[4000] = 4.0f;
  EXPECT_NEAR(global_norm(pool, g), 5.0, 1e-9);
  EXPECT_NEAR(clip_scale(5.0, 1.0f), 0.2f, 1e-6f);
  EXPECT_EQ(clip_scale(0.5, 1.0f), 1.0f);
  EXPECT_EQ(clip_scale(5.0, 0.0f), 1.0f);  // 0: no clipping
}

TEST(TrainSchedule, WarmupThenCosineToTheFloor) {
  const LrSchedule s{1e-3f, 10, 0.1f};
  EXPECT_NEAR(learning_rate(s, 0, 0.0), 1e-4f, 1e-9f);
  EXPECT_NEAR(learning_rate(s, 9, 0.0), 1e-3f, 1e-9f);
  EXPECT_NEAR(learning_rate(s, 10, 0.0), 1e-3f, 1e-9f);
  EXPECT_NEAR(learning_rate(s, 50, 0.5), 0.55e-3f, 1e-8f);
  EXPECT_NEAR(learning_rate(s, 99, 1.0), 1e-4f, 1e-9f);
  EXPECT_NEAR(learning_rate(s, 200, 3.0), 1e-4f, 1e-9f);  // past the end: stays at the floor
}

TEST(TrainShape, ImpossibleShapesAreInputErrors) {
  // Edited as the command line edits it: fill_conventions, then validate, as the trainer does.
  auto expect_error = [](ModelConfig s, const char* text) {
    s.fill_conventions();
    try {
      s.validate();
      ADD_FAILURE() << "no error for " << text;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
  };
  const ModelConfig code15m = TrainOptions{}.shape;
  code15m.validate();
  EXPECT_EQ(code15m.parameter_count(), 15191712u);
  EXPECT_EQ(code15m.describe(),
            "dim 288, 6 layers, 6 heads (6 kv), hidden 768, vocab 32000, ctx 256, tied output");
  ModelConfig s = code15m;
  s.n_heads = 5;
  expect_error(s, "the head count 5 does not divide the model dimension 288");
  s = code15m;
  s.n_kv_heads = 4;
  expect_error(s, "the kv-head count 4 does not divide the head count 6");
  s = code15m;
  s.dim = 0;
  expect_error(s, "the model dimension must be between 1 and 65536, not 0");
  s = code15m;
  s.dim = 18, s.n_heads = 6;  // head size 3
  expect_error(s, "must be even");
}

// A field edited without fill_conventions leaves head_dim behind: validate says so instead of
// letting a layout of the wrong size through.
TEST(TrainShape, StaleHeadSizeIsCaught) {
  ModelConfig s = TrainOptions{}.shape;
  s.n_heads = 4, s.n_kv_heads = 2;  // 288 / 4 = 72, but head_dim still says 48
  try {
    s.validate();
    ADD_FAILURE() << "no error for a stale head size";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("the head size 48 is not dim / heads = 72"),
              std::string::npos)
        << e.what();
  }
  s.fill_conventions();
  EXPECT_EQ(s.head_dim, 72);
  EXPECT_EQ(s.rope_dim, 72);
  EXPECT_NO_THROW(s.validate());
}

TEST(TrainCorpus, PythonCorpusSectionsAreDocuments) {
  const std::string text =
      "# ==== file: a.py\nimport os\n\n# ==== file: b/c.py\ndef f():\n    pass\n# ==== file: "
      "empty.py\n";
  const auto docs = split_documents(text);
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0], "import os\n\n");
  EXPECT_EQ(docs[1], "def f():\n    pass\n");
  // Anything else is one document; a marker-like text inside a line does not split.
  EXPECT_EQ(split_documents("hello\nworld x # ==== file: y\n").size(), 1u);
  const auto with_preamble = split_documents("intro\n# ==== file: a\nbody\n");
  ASSERT_EQ(with_preamble.size(), 2u);
  EXPECT_EQ(with_preamble[0], "intro\n");
}

TEST(TrainCorpus, EmptyAndBinaryFilesAreRejected) {
  EXPECT_THROW(check_text_file("", "x.txt"), InputError);
  EXPECT_THROW(check_text_file(std::string("ab\0cd", 5), "x.bin"), InputError);
  std::string random_bytes;
  std::mt19937 rng(3);
  for (int i = 0; i < 1000; ++i) random_bytes += static_cast<char>(0x80 | (rng() & 0x7F));
  EXPECT_THROW(check_text_file(random_bytes, "x.bin"), InputError);
  EXPECT_NO_THROW(check_text_file("plain text, caf\xC3\xA9 \xE2\x96\x81 ok\n", "ok.txt"));
}

TEST(TrainBatches, WindowsAreAPureFunctionOfSeedAndStep) {
  std::vector<int32_t> tokens(1000);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<int32_t>(i);
  const WindowSampler a(tokens.size(), 16, 7), b(tokens.size(), 16, 7), c(tokens.size(), 16, 8);
  TokenBatch x, y;
  sample_batch(tokens, 16, a, 5, 4, x);
  sample_batch(tokens, 16, b, 5, 4, y);
  EXPECT_EQ(x.inputs, y.inputs);
  ASSERT_EQ(x.inputs.size(), 64u);
  for (size_t i = 0; i < x.inputs.size(); ++i) EXPECT_EQ(x.targets[i], x.inputs[i] + 1);
  sample_batch(tokens, 16, c, 5, 4, y);
  EXPECT_NE(x.inputs, y.inputs);
  sample_batch(tokens, 16, a, 6, 4, y);
  EXPECT_NE(x.inputs, y.inputs);
  for (int step = 0; step < 200; ++step)
    for (int k = 0; k < 4; ++k)
      EXPECT_LE(a.window_start(static_cast<uint64_t>(step), k), 1000u - 17u);
  EXPECT_THROW(WindowSampler(16, 16, 1), InputError);
}

}  // namespace
}  // namespace aded::train
