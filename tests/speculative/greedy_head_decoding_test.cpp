// Greedy decoding with the int8 greedy head (the default) emits exactly the tokens of decoding with
// the full float output projection: plain and speculative, on random models of every float type
// and on the real models of ../shared/data (skipped when absent), where it must also narrow the
// search to a few exact logits per row.
#include <gtest/gtest.h>

#include <algorithm>

#include "aded/drafter.h"
#include "aded/model_tools.h"
#include "speculative/spec_support.h"

namespace aded {
namespace {

using spec_testing::Speculation;
using spec_testing::first_difference;
using spec_testing::generate;
using spec_testing::greedy_params;

ContextOptions options(bool greedy_head, int threads) {
  ContextOptions o;
  o.n_threads = threads;
  o.greedy_head = greedy_head;
  return o;
}

// Tokens of greedy decoding, plain or with prompt lookup, with and without the greedy head.
void expect_same_tokens(const std::shared_ptr<const Model>& model, const std::vector<int32_t>& prompt, int n,
                        const std::string& what, double max_candidates_per_row) {
  for (bool speculate : {false, true}) {
    std::vector<std::vector<int32_t>> out;
    for (bool head : {true, false}) {
      Context ctx(model, options(head, 2));
      auto drafter = make_prompt_lookup_drafter();
      Speculation spec;
      if (speculate) spec.drafter = drafter.get();
      out.push_back(generate(ctx, greedy_params(), spec, prompt, n).tokens);
      if (head) {
        const auto [candidates, rows] = ctx.greedy_head_candidates();
        ASSERT_GT(rows, 0) << what << ": the greedy head was not used";
        EXPECT_LE(static_cast<double>(candidates) / static_cast<double>(rows), max_candidates_per_row) << what;
      } else {
        EXPECT_EQ(ctx.greedy_head_candidates().second, 0) << what;
      }
    }
    ASSERT_EQ(out[0].size(), static_cast<size_t>(n)) << what;
    EXPECT_EQ(first_difference(out[0], out[1]), -1) << what << (speculate ? ", pld" : ", plain");
  }
}

// The context reports each row's argmax for greedy-only batches the head projected (the verifier
// uses it instead of scanning the row), and -1 for every other batch.
TEST(GreedyHeadDecoding, ContextArgmaxIsTheFirstLargestLogit) {
  testing::TempDir dir;
  RandomModelOptions o;
  o.shape = ModelConfig::new_model(Architecture::Llama, 64, 2, 4, 2, 160, 300, 256, true);
  o.seed = 9;
  const auto path = (dir / "m.gguf").string();
  write_random_model(o, path);
  const auto model = Model::load(path);
  Context ctx(model, options(true, 2));
  const auto tokens = spec_testing::random_prompt(9, 300, 4);
  for (bool greedy : {true, false}) {
    Batch b = Batch::sequence(tokens, 0, true);
    b.greedy_only = greedy;
    ctx.forward(b);
    for (int i = 0; i < static_cast<int>(tokens.size()); ++i) {
      const auto l = ctx.logits(i);
      const auto first_max = static_cast<int32_t>(std::max_element(l.begin(), l.end()) - l.begin());
      EXPECT_EQ(ctx.greedy_argmax(i), greedy ? first_max : -1) << i;
    }
    ctx.truncate(0);
  }
}

TEST(GreedyHeadDecoding, RandomModelsGiveTheSameTokensAsTheFullHead) {
  testing::TempDir dir;
  for (TensorType type : {TensorType::F32, TensorType::F16, TensorType::BF16}) {
    RandomModelOptions o;
    o.shape = ModelConfig::new_model(Architecture::Llama, 64, 2, 4, 2, 160, 300, 256, true);
    o.type = type;
    o.seed = 7;
    const auto path = (dir / (std::string(tensor_type_name(type)) + ".gguf")).string();
    write_random_model(o, path);
    const auto model = Model::load(path);
    // Random weights give flat logits: many near-ties, the hard case for the bound.
    expect_same_tokens(model, spec_testing::random_prompt(12, 300, 3), 150, std::string(tensor_type_name(type)), 300);
  }
}

TEST(GreedyHeadDecoding, RealModelsGiveTheSameTokensWithFewExactLogits) {
  ADED_REQUIRE_SHARED_DATA();
  const auto stories = spec_testing::stories260k();
  const auto code = spec_testing::code15m();
  ASSERT_TRUE(stories && code);
  const std::vector<int32_t> once = stories->tokenizer().encode("Once upon a time, there was a little dog", true);
  expect_same_tokens(stories, once, 400, "stories260K", 8);
  const std::vector<int32_t> def = code->tokenizer().encode("def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.", true);
  expect_same_tokens(code, def, 200, "code15M", 8);
}

}  // namespace
}  // namespace aded
