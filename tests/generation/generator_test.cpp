// Generator: the library's generation loop. Same tokens as stepping a session by hand, with and
// without speculation; every stop rule (token budget with overshooting steps, end of generation,
// stop strings, a full context, a callback); the callbacks' tokens, text, probabilities and draft
// flags; and prefix reuse, which keeps the cached cells of a shared prompt prefix.
#include <gtest/gtest.h>

#include <cmath>

#include "aded/error.h"
#include "aded/generator.h"
#include "aded/gguf.h"
#include "aded/tree_verifier.h"
#include "speculative/spec_support.h"

namespace aded {
namespace {

using spec_testing::first_difference;
using spec_testing::greedy_params;
using spec_testing::make_speculator;
using spec_testing::random_prompt;
using spec_testing::repeating_prompt;
using spec_testing::tiny_model;

GenerateOptions greedy(int n, Speculator* speculator = nullptr) {
  GenerateOptions o;
  o.sampling = greedy_params();
  o.max_new_tokens = n;
  o.speculator = speculator;
  return o;
}

TEST(Generator, SameTokensAsTheSessionWithAndWithoutSpeculation) {
  const auto model = tiny_model();
  Context ctx(model, {.n_ctx = 1024, .n_threads = 2});
  const auto prompt = repeating_prompt({50, 51, 52, 53}, 6);
  const auto plain = spec_testing::generate(ctx, greedy_params(), {}, prompt, 300).tokens;
  auto pld = make_prompt_lookup_drafter();
  const auto speculator = make_speculator({.drafter = pld.get()});
  for (Speculator* s : {static_cast<Speculator*>(nullptr), speculator.get()}) {
    Generator g(ctx);
    GenerateOptions o = greedy(300, s);
    o.stop_at_end_of_generation = false;
    const Generation r = g.generate(prompt, o);
    EXPECT_EQ(first_difference(r.tokens, plain), -1);
    EXPECT_EQ(r.tokens.size(), 300u) << "a step that overshoots the budget is trimmed";
    EXPECT_EQ(r.stop, StopReason::MaxTokens);
    EXPECT_EQ(r.stats.generated, 300);
    EXPECT_EQ(r.text, model->tokenizer().decode(r.tokens));
  }
}

// Every token once with the right flags, and the text pieces add up to the text.
TEST(Generator, CallbacksSeeEveryTokenAndTheText) {
  const auto model = tiny_model();
  Context ctx(model, {.n_ctx = 1024, .n_threads = 1});
  const auto prompt = repeating_prompt({60, 61, 62, 63, 64}, 6);
  auto pld = make_prompt_lookup_drafter();
  const auto speculator = make_speculator({.drafter = pld.get(), .max_nodes = 8, .max_depth = 8, .adaptive_budget = false});
  std::vector<GeneratedToken> seen;
  std::string text;
  GenerationCallbacks cb;
  cb.on_token = [&](const GeneratedToken& t) {
    seen.push_back(t);
    return true;
  };
  cb.on_text = [&](std::string_view piece) { text += piece; };
  Generator g(ctx);
  GenerateOptions o = greedy(200, speculator.get());
  o.stop_at_end_of_generation = false;
  const Generation r = g.generate(prompt, o, cb);
  ASSERT_EQ(seen.size(), r.tokens.size());
  EXPECT_EQ(text, r.text);
  int64_t drafted = 0;
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].id, r.tokens[i]);
    EXPECT_EQ(seen[i].index, static_cast<int>(i));
    drafted += seen[i].drafted;
    if (i > 0) {
      EXPECT_GE(seen[i].step, seen[i - 1].step);
    }
  }
  EXPECT_EQ(seen[0].step, 0) << "the prefill draws the first token";
  EXPECT_FALSE(seen[0].drafted);
  EXPECT_GT(drafted, 0);
  EXPECT_LE(drafted, spec_testing::accepted_drafts(r.stats)) << "trimmed overshoot aside, drafted = accepted";
  EXPECT_EQ(seen.back().step, r.stats.steps);
}

// With probabilities asked for, each token's probability is the softmax of its row of logits
// (computed here by forwarding prompt + output again), greedy or speculative alike.
TEST(Generator, TokenProbabilitiesAreTheModelsOwn) {
  const auto model = tiny_model();
  Context ctx(model, {.n_ctx = 512, .n_threads = 1});
  const auto prompt = repeating_prompt({80, 81, 82}, 5);
  auto pld = make_prompt_lookup_drafter();
  const auto speculator = make_speculator({.drafter = pld.get(), .max_nodes = 6, .max_depth = 6, .adaptive_budget = false});
  std::vector<float> probs;
  GenerationCallbacks cb;
  cb.on_token = [&](const GeneratedToken& t) {
    probs.push_back(t.probability);
    return true;
  };
  Generator g(ctx);
  GenerateOptions o = greedy(40, speculator.get());
  o.stop_at_end_of_generation = false;
  o.token_probabilities = true;
  const Generation r = g.generate(prompt, o, cb);
  ASSERT_EQ(probs.size(), 40u);
  std::vector<int32_t> all = prompt;
  all.insert(all.end(), r.tokens.begin(), r.tokens.end());
  Context check(model, {.n_ctx = 512, .n_threads = 1});
  check.forward(Batch::sequence(all, 0, true));
  for (size_t i = 0; i < probs.size(); ++i) {
    const auto logits = check.logits(static_cast<int>(prompt.size() + i) - 1);
    EXPECT_NEAR(probs[i], token_probability(logits, r.tokens[i]), 1e-6) << i;
    EXPECT_GT(probs[i], 0.0f);
    EXPECT_LE(probs[i], 1.0f);
  }
}

TEST(Generator, StopStringsEndTheTextBeforeThem) {
  const auto model = tiny_model();
  Context ctx(model, {.n_ctx = 1024, .n_threads = 1});
  const auto prompt = random_prompt(12, 300, 9);
  Generator g(ctx);
  GenerateOptions o = greedy(200);
  o.stop_at_end_of_generation = false;
  const Generation full = g.generate(prompt, o);
  ASSERT_GT(full.text.size(), 40u);
  // A stop string taken from the middle of the output (it may span several tokens).
  const std::string stop = full.text.substr(20, 6);
  const size_t at = full.text.find(stop);
  o.stop_strings = {"never appears \x01", stop};
  std::string streamed;
  GenerationCallbacks cb;
  cb.on_text = [&](std::string_view piece) { streamed += piece; };
  const Generation r = g.generate(prompt, o, cb);
  EXPECT_EQ(r.stop, StopReason::StopString);
  EXPECT_EQ(r.text, full.text.substr(0, at));
  EXPECT_EQ(streamed, r.text) << "nothing of the stop string was released";
  // The tokens run up to the one that completed the stop string.
  ASSERT_LE(r.tokens.size(), full.tokens.size());
  EXPECT_EQ(first_difference(r.tokens, std::vector<int32_t>(full.tokens.begin(), full.tokens.begin() + static_cast<long>(r.tokens.size()))), -1);
  EXPECT_GE(model->tokenizer().decode(r.tokens).size(), at + stop.size());
  EXPECT_LT(model->tokenizer().decode(std::vector<int32_t>(r.tokens.begin(), r.tokens.end() - 1)).size(), at + stop.size());
}

// The same model with another token declared end-of-generation (a copy of the file).
std::shared_ptr<const Model> with_eos(const Model& model, int32_t eos, const std::string& path) {
  GgufWriter w;
  w.copy_metadata(model.gguf());
  w.set_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(eos));
  for (const GgufTensor& t : model.gguf().tensors())
    w.add_tensor_bytes(t.name, t.type, t.dims, std::span<const uint8_t>(t.data, t.nbytes));
  w.write(path);
  return Model::load(path);
}

// An end-of-generation token ends the generation and is not part of it; with the rule off it is
// an ordinary token (bench-spec's fixed-length protocol).
TEST(Generator, EndOfGenerationStopsWhenAsked) {
  const auto base = tiny_model();
  const auto prompt = random_prompt(12, 300, 3);
  Context base_ctx(base, {.n_ctx = 512, .n_threads = 1});
  Generator base_gen(base_ctx);
  GenerateOptions o = greedy(120);
  o.stop_at_end_of_generation = false;
  const Generation full = base_gen.generate(prompt, o);
  // Declare the 30th generated token end-of-generation: the output must stop at its first use.
  const int32_t eos = full.tokens[30];
  const auto at = static_cast<size_t>(std::find(full.tokens.begin(), full.tokens.end(), eos) - full.tokens.begin());
  testing::TempDir dir;
  const auto model = with_eos(*base, eos, (dir / "eos.gguf").string());
  ASSERT_TRUE(model->tokenizer().is_end_of_generation(eos));
  Context ctx(model, {.n_ctx = 512, .n_threads = 1});
  Generator g(ctx);
  EXPECT_EQ(g.generate(prompt, o).tokens, full.tokens) << "the rule off: an ordinary token";
  auto pld = make_prompt_lookup_drafter();
  const auto speculator = make_speculator({.drafter = pld.get()});
  for (Speculator* s : {static_cast<Speculator*>(nullptr), speculator.get()}) {
    const Generation r = g.generate(prompt, greedy(120, s));
    EXPECT_EQ(r.stop, StopReason::EndOfGeneration);
    EXPECT_EQ(r.tokens, std::vector<int32_t>(full.tokens.begin(), full.tokens.begin() + static_cast<long>(at)));
  }
}

TEST(Generator, ContextFullAndCancelAndZeroTokens) {
  const auto model = tiny_model();
  Context ctx(model, {.n_ctx = 64, .n_threads = 1});
  const auto prompt = random_prompt(40, 300, 2);
  Generator g(ctx);
  GenerateOptions o = greedy(1000);
  o.stop_at_end_of_generation = false;
  const Generation full = g.generate(prompt, o);
  EXPECT_EQ(full.stop, StopReason::ContextFull);
  EXPECT_EQ(full.tokens.size(), 64u - 40u);
  GenerationCallbacks cb;
  cb.on_token = [](const GeneratedToken& t) { return t.index < 4; };
  const Generation cancelled = g.generate(prompt, o, cb);
  EXPECT_EQ(cancelled.stop, StopReason::Cancelled);
  EXPECT_EQ(cancelled.tokens.size(), 5u);
  EXPECT_EQ(g.generate(prompt, greedy(0)).tokens.size(), 0u);
  EXPECT_THROW(g.generate(prompt, greedy(-1)), InputError);
}

// A second request that starts with the first one's prompt and output evaluates only what is new,
// and gives the tokens a fresh context gives.
TEST(Generator, ASharedPrefixIsNotRecomputed) {
  const auto model = tiny_model();
  Context ctx(model, {.n_ctx = 1024, .n_threads = 2});
  Generator g(ctx);
  GenerateOptions o = greedy(50);
  o.stop_at_end_of_generation = false;
  const auto first_prompt = random_prompt(30, 300, 4);
  const Generation first = g.generate(first_prompt, o);
  EXPECT_EQ(first.stats.prompt_tokens_cached, 0);
  // The next turn: the whole first exchange, then new tokens.
  std::vector<int32_t> second_prompt = first_prompt;
  second_prompt.insert(second_prompt.end(), first.tokens.begin(), first.tokens.end());
  for (int32_t t : {100, 101, 102, 103}) second_prompt.push_back(t);
  const uint64_t forwarded_before = ctx.tokens_forwarded();
  const Generation second = g.generate(second_prompt, o);
  // The cache holds the first prompt and all generated tokens but the last (never forwarded).
  const int cached = static_cast<int>(first_prompt.size() + first.tokens.size()) - 1;
  EXPECT_EQ(second.stats.prompt_tokens_cached, cached);
  // The context forwarded the new prompt tokens, then one token per step, and nothing else.
  EXPECT_EQ(ctx.tokens_forwarded() - forwarded_before,
            static_cast<uint64_t>(static_cast<int>(second_prompt.size()) - cached + second.stats.steps));
  Context fresh_ctx(model, {.n_ctx = 1024, .n_threads = 2});
  Generator fresh(fresh_ctx);
  EXPECT_EQ(first_difference(second.tokens, fresh.generate(second_prompt, o).tokens), -1);
  // A prompt that diverges early keeps only the common part; the same prompt again keeps all but
  // its last token.
  std::vector<int32_t> diverging = first_prompt;
  diverging[10] = diverging[10] == 5 ? 6 : 5;
  EXPECT_EQ(g.generate(diverging, o).stats.prompt_tokens_cached, 10);
  EXPECT_EQ(g.generate(diverging, o).stats.prompt_tokens_cached, static_cast<int>(diverging.size()) - 1);
  o.reuse_prefix = false;
  EXPECT_EQ(g.generate(diverging, o).stats.prompt_tokens_cached, 0);
}

}  // namespace
}  // namespace aded
