// The oracle drafter: a chain of the reference's next tokens. With the plain greedy output as the
// reference every draft is accepted, so a run with it measures what verification alone allows.
#include <gtest/gtest.h>

#include "aded/drafter_registry.h"
#include "aded/error.h"
#include "aded/oracle_drafter.h"
#include "aded/spec_bench.h"
#include "speculative/spec_support.h"

namespace aded {
namespace {

using spec_testing::Speculation;
using spec_testing::accepted_drafts;
using spec_testing::first_difference;
using spec_testing::generate;
using spec_testing::greedy_params;
using spec_testing::random_prompt;
using spec_testing::tiny_model;

std::vector<int32_t> chain_of(const DraftTree& t) {
  std::vector<int32_t> tokens;
  for (int i = 0; i < t.size(); ++i) {
    EXPECT_EQ(t.parent(i), i == 0 ? DraftTree::kRoot : i - 1);
    tokens.push_back(t.token(i));
  }
  return tokens;
}

std::shared_ptr<std::vector<int32_t>> reference_of(std::vector<int32_t> tokens) {
  return std::make_shared<std::vector<int32_t>>(std::move(tokens));
}

TEST(OracleDrafter, DraftsTheReferenceContinuationWithinTheBudget) {
  auto oracle = make_oracle_drafter(reference_of({5, 6, 7, 8, 9, 10, 11}));
  Drafter& d = *oracle;
  const std::vector<int32_t> context = {5, 6};
  DraftTree t;
  d.propose({context, 3, 8}, t);
  EXPECT_EQ(chain_of(t), (std::vector<int32_t>{7, 8, 9}));
  t.clear();
  d.propose({context, 16, 2}, t);  // the depth limit
  EXPECT_EQ(chain_of(t), (std::vector<int32_t>{7, 8}));
  t.clear();
  const std::vector<int32_t> near_end = {5, 6, 7, 8, 9};
  d.propose({near_end, 16, 16}, t);  // the end of the reference
  EXPECT_EQ(chain_of(t), (std::vector<int32_t>{10, 11}));
}

TEST(OracleDrafter, NothingOffTheReference) {
  auto oracle = make_oracle_drafter(reference_of({5, 6, 7, 8}));
  Drafter& d = *oracle;
  DraftTree t;
  const std::vector<int32_t> other = {5, 9};
  d.propose({other, 4, 4}, t);
  EXPECT_TRUE(t.empty());
  const std::vector<int32_t> past_end = {5, 6, 7, 8, 9};
  d.propose({past_end, 4, 4}, t);
  EXPECT_TRUE(t.empty());
  const std::vector<int32_t> none;
  d.propose({none, 4, 4}, t);
  EXPECT_TRUE(t.empty());
}

TEST(OracleDrafter, EveryDraftOfThePlainOutputIsAccepted) {
  const auto model = tiny_model();
  Context ctx(model, {.n_ctx = 512, .n_threads = 2});
  const auto prompt = random_prompt(20, model->config().n_vocab, 7);
  const int n = 120;
  const auto plain = generate(ctx, greedy_params(), {}, prompt, n);
  std::vector<int32_t> reference = prompt;
  reference.insert(reference.end(), plain.tokens.begin(), plain.tokens.end());
  auto oracle = make_oracle_drafter(reference_of(reference));
  const int length = 5;
  Speculation spec{.drafter = oracle.get(), .max_nodes = length, .max_depth = 32, .adaptive_budget = false};
  const auto r = generate(ctx, greedy_params(), spec, prompt, n);
  EXPECT_EQ(first_difference(r.tokens, plain.tokens), -1);
  EXPECT_GT(r.stats.nodes_verified, 0);
  EXPECT_EQ(accepted_drafts(r.stats), r.stats.nodes_verified);
  // The first token comes from the prefill; then each step emits length + 1 tokens.
  EXPECT_EQ(r.stats.steps, (n - 1 + length) / (length + 1));
}

// Without a reference (outside bench-spec) the method is refused with a message that says why.
TEST(OracleDrafter, OnlyBenchSpecHasAReference) {
  const DrafterRegistry registry = DrafterRegistry::with_builtin_methods();
  DrafterEnvironment env;
  try {
    registry.create(registry.parse("oracle"), env);
    FAIL() << "oracle without a reference was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("only bench-spec"), std::string::npos) << e.what();
  }
}

TEST(OracleDrafter, BenchGivesItThePlainOutputOfEachPrompt) {
  const auto model = tiny_model();
  Context ctx(model, {.n_ctx = 512, .n_threads = 2});
  std::vector<BenchPrompt> prompts = {{"a", "test", "one two three"}, {"b", "test", "four five six seven"}};
  const DrafterRegistry registry = DrafterRegistry::with_builtin_methods();
  DrafterEnvironment env(model.get());
  auto reference = std::make_shared<std::vector<int32_t>>();
  env.reference = reference;
  std::vector<MethodSetup> methods(2);
  methods[0].name = "none";
  methods[1].name = "oracle:max=3:budget=fixed";
  methods[1].speculator = registry.make_speculator(registry.parse(methods[1].name), env);
  SpecBenchOptions o;
  o.max_new_tokens = 64;
  o.reference = reference;
  const SpecBenchResult r = run_spec_bench(ctx, model->tokenizer(), methods, prompts, o);
  EXPECT_TRUE(r.all_identical);
  const MethodTotals& t = r.overall.at("oracle:max=3:budget=fixed");
  // Every step but each prompt's last emits four tokens.
  EXPECT_GT(t.tokens_per_step(), 3.5);
  EXPECT_LE(t.tokens_per_step(), 4.0);
}

}  // namespace
}  // namespace aded
