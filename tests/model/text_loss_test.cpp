// window_nll and `aded perplexity`: the loss of a window equals the loss computed token by token,
// and the command reports the mean over its windows.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "aded/error.h"
#include "aded/model_tools.h"
#include "aded/text_loss.h"
#include "support/test_support.h"

namespace aded {
namespace {

// -log softmax(logits)[target], in double.
double nll_of(std::span<const float> logits, int32_t target) {
  double max = -INFINITY, sum = 0;
  for (float l : logits) max = std::max(max, static_cast<double>(l));
  for (float l : logits) sum += std::exp(static_cast<double>(l) - max);
  return max + std::log(sum) - static_cast<double>(logits[static_cast<size_t>(target)]);
}

struct TinyModel {
  testing::TempDir dir;
  std::string path = (dir / "m.gguf").string();
  std::shared_ptr<const Model> model;
  TinyModel() {
    RandomModelOptions o;
    o.shape = ModelConfig::new_model(Architecture::Llama, 64, 2, 4, 2, 160, 300, 64, true);
    o.type = TensorType::F32;
    o.seed = 7;
    write_random_model(o, path);
    model = Model::load(path);
  }
};

TEST(TextLoss, WindowLossIsTheSumOfTokenByTokenLosses) {
  TinyModel m;
  Context ctx(m.model, {.n_ctx = 32, .n_threads = 2});
  std::mt19937 rng(3);
  std::vector<int32_t> window(33);
  for (auto& t : window) t = static_cast<int32_t>(rng() % 300);
  const double batched = window_nll(ctx, window);
  EXPECT_EQ(ctx.n_past(), 0);

  double sequential = 0;
  for (size_t i = 0; i + 1 < window.size(); ++i) {
    ctx.forward(Batch::sequence(std::span(window).subspan(i, 1), ctx.n_past(), true));
    sequential += nll_of(ctx.logits(0), window[i + 1]);
    const int32_t keep = 0;
    ctx.commit(std::span(&keep, 1));
  }
  // Batch invariance makes the logits bitwise equal; only the summation order could differ.
  EXPECT_NEAR(batched, sequential, 1e-9 * sequential);
  EXPECT_GT(batched / 32, 0.5 * std::log(300.0));  // random weights: near-uniform predictions
}

TEST(TextLoss, BadWindowsAreErrors) {
  TinyModel m;
  Context ctx(m.model, {.n_ctx = 8, .n_threads = 1});
  const std::vector<int32_t> too_long(10, 1), bad_token{1, 2, 300};
  EXPECT_THROW(window_nll(ctx, too_long), Error);
  EXPECT_THROW(window_nll(ctx, bad_token), Error);
  EXPECT_EQ(window_nll(ctx, std::span(bad_token).first(1)), 0.0);
}

TEST(TextLoss, PerplexityCommandReportsTheMeanLoss) {
  TinyModel m;
  std::string text;
  for (int i = 0; i < 40; ++i) text += "def f(x):\n    return x + " + std::to_string(i) + "\n";
  testing::write_file(m.dir / "valid.txt", text);
  const auto r = testing::run_cli("perplexity -m " + m.path + " -f " + (m.dir / "valid.txt").string() +
                                  " --window 16 -t 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("loss "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("perplexity "), std::string::npos) << r.out;

  const auto short_text = testing::run_cli("perplexity -m " + m.path + " -f " +
                                           (m.dir / "valid.txt").string() + " --window 4096");
  EXPECT_NE(short_text.exit_code, 0);
  EXPECT_NE(short_text.err.find("too few"), std::string::npos) << short_text.err;
}

}  // namespace
}  // namespace aded
