// DecodingSession with speculation, at its edges: a budget of 0 is plain decoding, bad options and
// prompts that do not fit are InputErrors, a context that fills up mid-generation ends the
// generation cleanly with the same output as plain decoding, and sessions, drafters and budget
// controllers can be reused across requests without changing the output.
#include <gtest/gtest.h>

#include "aded/aded_drafter.h"
#include "aded/decoding.h"
#include "aded/error.h"
#include "speculative/spec_support.h"

namespace aded {
namespace {

using spec_testing::Speculation;
using spec_testing::accepted_drafts;
using spec_testing::first_difference;
using spec_testing::generate;
using spec_testing::generate_with;
using spec_testing::make_speculator;
using spec_testing::greedy_params;
using spec_testing::NoisyOracleDrafter;
using spec_testing::random_prompt;
using spec_testing::repeating_prompt;
using spec_testing::tiny_model;

// Runs a session until step() returns false (at most `limit` tokens); returns every token.
std::vector<int32_t> until_full(Context& ctx, const SamplingParams& sampling, Speculation spec,
                                const std::vector<int32_t>& prompt, int limit, DecodingStats* stats = nullptr) {
  const auto speculator = make_speculator(spec);
  DecodingSession session(ctx, sampling, speculator.get());
  session.prefill(prompt);
  std::vector<int32_t> out;
  while (static_cast<int>(out.size()) < limit && session.step(out)) {
  }
  EXPECT_FALSE(session.step(out)) << "a full context stays full";
  EXPECT_EQ(session.sequence().size(), prompt.size() + out.size());
  if (stats) *stats = session.stats();
  return out;
}

TEST(SpecSession, ZeroBudgetIsPlainDecoding) {
  const auto model = tiny_model();
  Context ctx(model, {.n_ctx = 512, .n_threads = 1});
  const auto prompt = repeating_prompt({70, 71, 72, 73}, 6);
  const auto plain = generate(ctx, greedy_params(), {}, prompt, 200).tokens;
  auto pld = make_prompt_lookup_drafter();
  for (bool adaptive : {false, true}) {
    Speculation spec{.drafter = pld.get(), .max_nodes = 0, .max_depth = 8, .adaptive_budget = adaptive};
    const auto r = generate(ctx, greedy_params(), spec, prompt, 200);
    EXPECT_EQ(first_difference(r.tokens, plain), -1);
    EXPECT_EQ(r.stats.nodes_verified, 0);
    EXPECT_EQ(r.stats.steps, r.stats.generated - 1) << "one token per forward";
  }
  // The same drafter with a budget does get drafts accepted here: the zero budget is what stops it.
  Speculation spec{.drafter = pld.get(), .max_nodes = 8, .max_depth = 4, .adaptive_budget = false};
  const auto r = generate(ctx, greedy_params(), spec, prompt, 200);
  EXPECT_EQ(first_difference(r.tokens, plain), -1);
  EXPECT_GT(accepted_drafts(r.stats), 0);
}

TEST(SpecSession, BadSpeculationOptionsAreInputErrors) {
  const auto model = tiny_model();
  Context ctx(model, {.n_ctx = 64, .n_threads = 1});
  auto pld = make_prompt_lookup_drafter();
  Speculator speculator;
  EXPECT_THROW(speculator.add(*pld, DraftLimits{.max_nodes = 8, .max_depth = 0}), InputError);
  EXPECT_THROW(speculator.add(*pld, DraftLimits{.max_nodes = 8, .max_depth = -3}), InputError);
  EXPECT_THROW(speculator.add(*pld, DraftLimits{.max_nodes = -1, .max_depth = 4}), InputError);
  EXPECT_EQ(speculator.arms(), 0);
  SamplingParams bad;
  bad.top_p = 0;
  EXPECT_THROW(DecodingSession(ctx, bad, &speculator), InputError);
  bad = SamplingParams{};
  bad.temperature = -1;
  EXPECT_THROW(DecodingSession(ctx, bad), InputError);
}

TEST(SpecSession, PromptsThatDoNotFitAreInputErrors) {
  const auto model = tiny_model();
  Context ctx(model, {.n_ctx = 32, .n_threads = 1});
  auto pld = make_prompt_lookup_drafter();
  auto aded = make_aded_drafter(nullptr, AdedOptions{});
  for (Drafter* d : std::initializer_list<Drafter*>{nullptr, pld.get(), aded.get()}) {
    const std::string what = d ? std::string(d->name()) : "plain";
    const auto speculator = make_speculator({.drafter = d, .max_nodes = 16, .max_depth = 8});
    DecodingSession session(ctx, greedy_params(), speculator.get());
    EXPECT_THROW(session.prefill(random_prompt(40, 300, 1)), InputError) << what;
    EXPECT_THROW(session.prefill(random_prompt(32, 300, 1)), InputError) << what;
    EXPECT_THROW(session.prefill(std::vector<int32_t>{}), Error) << what;
    std::vector<int32_t> out;
    // 31 tokens fit with room for exactly the one token the prefill draws.
    const auto prompt = repeating_prompt({5, 6, 7}, 10);
    ASSERT_EQ(prompt.size(), 31u);
    session.prefill(prompt);
    EXPECT_TRUE(session.step(out)) << what;
    EXPECT_EQ(out.size(), 1u) << what;
    EXPECT_FALSE(session.step(out)) << what;
    EXPECT_EQ(out.size(), 1u) << what;
    EXPECT_EQ(session.sequence().size(), 32u) << what;
  }
  DecodingSession fresh(ctx, greedy_params());
  std::vector<int32_t> out;
  EXPECT_THROW(fresh.step(out), Error) << "step before prefill";
}

// The context fills up in the middle of a generation: every method stops at the same point (the
// sequence fills the context exactly) with the same tokens, and a further step stays false.
TEST(SpecSession, ContextFillingUpMidGenerationMatchesPlain) {
  const auto model = tiny_model();
  const int n_ctx = 150;
  Context ctx(model, {.n_ctx = n_ctx, .n_threads = 1});
  for (const auto& prompt : {repeating_prompt({80, 81, 82, 83, 84}, 4), random_prompt(30, 300, 8)}) {
    const auto plain = until_full(ctx, greedy_params(), {}, prompt, 10000);
    ASSERT_EQ(prompt.size() + plain.size(), static_cast<size_t>(n_ctx));
    std::vector<int32_t> ref = prompt;
    ref.insert(ref.end(), plain.begin(), plain.end());
    NoisyOracleDrafter oracle(ref, 300);
    auto pld = make_prompt_lookup_drafter();
    AdedOptions m;
    m.search = AdedSearch::Mcts;
    auto mcts = make_aded_drafter(nullptr, m);
    AdedOptions bf;
    bf.search = AdedSearch::BestFirst;
    auto best = make_aded_drafter(nullptr, bf);
    int64_t accepted = 0;
    for (Drafter* d : std::initializer_list<Drafter*>{pld.get(), mcts.get(), best.get(), &oracle}) {
      for (const auto& [nodes, depth, adaptive] : std::vector<std::tuple<int, int, bool>>{{64, 16, false}, {200, 64, false}, {32, 8, true}}) {
        DecodingStats stats;
        const auto out = until_full(ctx, greedy_params(), {.drafter = d, .max_nodes = nodes, .max_depth = depth, .adaptive_budget = adaptive},
                                    prompt, 10000, &stats);
        EXPECT_EQ(first_difference(out, plain), -1) << d->name() << " " << nodes << "x" << depth;
        accepted += accepted_drafts(stats);
      }
    }
    EXPECT_FALSE(oracle.diverged());
    EXPECT_GT(accepted, 0);
  }
  // Sampling too.
  SamplingParams sampling;
  sampling.seed = 42;
  const auto prompt = repeating_prompt({90, 91}, 10);
  const auto plain = until_full(ctx, sampling, {}, prompt, 10000);
  std::vector<int32_t> ref = prompt;
  ref.insert(ref.end(), plain.begin(), plain.end());
  NoisyOracleDrafter oracle(ref, 300);
  const auto out = until_full(ctx, sampling, {.drafter = &oracle, .max_nodes = 64, .max_depth = 32, .adaptive_budget = false}, prompt, 10000);
  EXPECT_EQ(first_difference(out, plain), -1);
}

// Prompts longer than a prefill slice (256 tokens) are evaluated in slices; the first token and
// everything after must still be exactly those of one-token-at-a-time decoding, with or without a
// drafter.
TEST(SpecSession, LongPromptsPrefilledInSlicesDecodeLikeSequentialDecoding) {
  const auto model = tiny_model();
  Context ctx(model, {.n_ctx = 700, .n_threads = 1});
  auto pld = make_prompt_lookup_drafter();
  for (int len : {255, 256, 257, 513}) {
    auto prompt = random_prompt(len, 300, static_cast<uint32_t>(len));
    for (int i = len / 2; i < len; ++i) prompt[static_cast<size_t>(i)] = prompt[static_cast<size_t>(i - len / 2)];
    const int n = 60;
    // Reference: every prompt token forwarded alone, then greedy one token at a time.
    Context ref(model, {.n_ctx = 700, .n_threads = 1});
    std::vector<int32_t> expected;
    for (size_t i = 0; i < prompt.size(); ++i) {
      ref.forward(Batch::sequence(std::span<const int32_t>(&prompt[i], 1), ref.n_past(), true));
      const int32_t first[] = {0};
      ref.commit(first);
    }
    for (int i = 0; i < n; ++i) {
      const auto l = ref.logits(0);
      const int32_t t = static_cast<int32_t>(std::max_element(l.begin(), l.end()) - l.begin());
      expected.push_back(t);
      ref.forward(Batch::sequence(std::span<const int32_t>(&t, 1), ref.n_past(), true));
      const int32_t first[] = {0};
      ref.commit(first);
    }
    EXPECT_EQ(first_difference(generate(ctx, greedy_params(), {}, prompt, n).tokens, expected), -1) << "plain, prompt " << len;
    Speculation spec{.drafter = pld.get(), .max_nodes = 16, .max_depth = 8, .adaptive_budget = false};
    EXPECT_EQ(first_difference(generate(ctx, greedy_params(), spec, prompt, n).tokens, expected), -1) << "pld, prompt " << len;
  }
}

// One session serving several requests in turn, one drafter whose shared overlay keeps learning
// across them, and one speculator (its budget controller) shared by every session: the output of each request is
// still that of plain decoding.
TEST(SpecSession, ReusedSessionsDraftersAndBudgetsGiveTheSameOutput) {
  const auto model = tiny_model();
  Context ctx(model, {.n_ctx = 512, .n_threads = 1});
  const std::vector<std::vector<int32_t>> prompts = {repeating_prompt({11, 12, 13}, 5), random_prompt(20, 300, 3),
                                                     repeating_prompt({100, 150, 200, 250}, 4)};
  std::vector<std::vector<int32_t>> plain;
  for (const auto& p : prompts) plain.push_back(generate(ctx, greedy_params(), {}, p, 250).tokens);
  auto shared = std::make_shared<TrigramOverlay>();
  AdedOptions with_overlay;
  with_overlay.overlay = true;  // the shared overlay learns across the requests
  auto drafter = make_aded_drafter(nullptr, with_overlay, shared);
  const auto speculator = make_speculator({.drafter = drafter.get(), .max_nodes = 24, .max_depth = 6});
  // One session for every request, twice over (the shared overlay and the budget keep learning).
  DecodingSession session(ctx, greedy_params(), speculator.get());
  for (int round = 0; round < 2; ++round) {
    for (size_t i = 0; i < prompts.size(); ++i) {
      session.prefill(prompts[i]);
      std::vector<int32_t> out;
      while (out.size() < 250 && session.step(out)) {
      }
      out.resize(250);
      EXPECT_EQ(first_difference(out, plain[i]), -1) << "round " << round << " prompt " << i;
      EXPECT_EQ(session.stats().prompt_tokens, static_cast<int>(prompts[i].size()));
    }
  }
  EXPECT_GT(shared->keys(), 0u);
  // Fresh sessions sharing the same speculator.
  for (size_t i = 0; i < prompts.size(); ++i) {
    const auto r = generate_with(ctx, greedy_params(), speculator.get(), prompts[i], 250);
    EXPECT_EQ(first_difference(r.tokens, plain[i]), -1) << "prompt " << i;
  }
}

}  // namespace
}  // namespace aded
