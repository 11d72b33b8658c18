// The real models in ../shared/data (skipped when that folder is absent): stories260K must
// reproduce llama2.c's reference greedy sample word for word; code15M must decode identically with
// 1 and 2 threads and with the portable kernels.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "aded/context.h"
#include "aded/convert.h"
#include "aded/decoding.h"
#include "aded/model.h"
#include "support/test_support.h"

namespace aded {
namespace {

namespace fs = std::filesystem;

std::vector<int32_t> greedy(const std::shared_ptr<const Model>& model, ContextOptions options, int n,
                            std::vector<int32_t> prompt = {1}) {
  Context ctx(model, options);
  SamplingParams greedy_params;
  greedy_params.temperature = 0;
  DecodingSession session(ctx, greedy_params);
  session.prefill(prompt);
  std::vector<int32_t> out;
  while (static_cast<int>(out.size()) < n && session.step(out)) {
  }
  out.resize(static_cast<size_t>(std::min<int>(n, static_cast<int>(out.size()))));
  return out;
}

// The text of the first fenced block after the "temperature 0.0" sentence, without the command.
std::string reference_sample(const fs::path& md) {
  const std::string text = testing::read_file(md);
  const size_t start = text.find("$ ./run stories260K/stories260K.bin -z stories260K/tok512.bin -t 0.0\n");
  if (start == std::string::npos) return {};
  const size_t body = text.find('\n', start) + 1;
  const size_t end = text.find("```", body);
  std::string s = text.substr(body, end - body);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

TEST(RealModels, Stories260KReproducesTheReferenceSample) {
  ADED_REQUIRE_SHARED_DATA();
  const fs::path dir = testing::shared_data() / "models/stories260K";
  testing::TempDir tmp;
  const auto gguf = (tmp / "stories260K.gguf").string();
  convert_llama2c((dir / "stories260K.bin").string(), (dir / "tok512.bin").string(), gguf);
  const auto model = Model::load(gguf);
  const std::string expected = reference_sample(dir / "reference-sample.md");
  ASSERT_GT(expected.size(), 200u) << "could not find the reference sample";
  for (int threads : {1, 2}) {
    const auto tokens = greedy(model, {.n_ctx = 512, .n_threads = threads}, 256);
    std::string text = model->tokenizer().decode(tokens);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    EXPECT_EQ(text, expected) << "threads " << threads;
  }
}

TEST(RealModels, Code15MGreedyIsIdenticalAcrossThreadsAndKernels) {
  ADED_REQUIRE_SHARED_DATA();
  const fs::path data = testing::shared_data();
  const fs::path bin = data / "models/code15M/code15M.bin";
  if (!fs::exists(bin)) GTEST_SKIP() << "code15M is not present";
  testing::TempDir tmp;
  const auto gguf = (tmp / "code15M.gguf").string();
  convert_llama2c(bin.string(), (data / "tokenizers/llama2-spm-32000/tokenizer.bin").string(), gguf);
  const auto model = Model::load(gguf);
  const auto prompt = model->tokenizer().encode("def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n", true);
  const auto one = greedy(model, {.n_ctx = 256, .n_threads = 1}, 200, prompt);
  const auto two = greedy(model, {.n_ctx = 256, .n_threads = 2}, 200, prompt);
  // The portable kernels are slow: a shorter run is enough to compare them.
  const auto scalar = greedy(model, {.n_ctx = 256, .n_threads = 2, .scalar_kernels = true}, 60, prompt);
  ASSERT_EQ(one.size(), 200u);
  EXPECT_EQ(one, two);
  EXPECT_EQ(std::vector<int32_t>(one.begin(), one.begin() + 60), scalar);
  // It writes Python-looking text (its greedy continuation defines a method), not garbage.
  const std::string text = model->tokenizer().decode(one);
  EXPECT_NE(text.find("def "), std::string::npos) << text;
}

}  // namespace
}  // namespace aded
