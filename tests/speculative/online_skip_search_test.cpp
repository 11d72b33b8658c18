// The skip set adapted while generating (SWIFT): its matchness score is the teacher-forced
// agreement of the skipped model with the generated text, computed without touching the cache;
// the search stops at its limits; decoding with it stays lossless.
#include "speculative/online_skip_search.h"

#include <gtest/gtest.h>

#include "aded/drafter_registry.h"
#include "aded/error.h"
#include "aded/model_drafters.h"
#include "speculative/spec_support.h"

namespace aded {
namespace {

using spec_testing::first_difference;
using spec_testing::generate;
using spec_testing::generate_with;
using spec_testing::greedy_params;
using spec_testing::random_prompt;

std::shared_ptr<const Model> four_layers() {
  static testing::TempDir dir;
  static std::shared_ptr<const Model> model;
  if (!model) {
    RandomModelOptions o;
    o.shape = ModelConfig::new_model(Architecture::Llama, 64, 4, 4, 2, 160, 300, 1024, true);
    o.seed = 5;
    write_random_model(o, (dir / "four.gguf").string());
    model = Model::load((dir / "four.gguf").string());
  }
  return model;
}

// A context holding `prompt` and the plain greedy continuation (all but its last token).
std::vector<int32_t> decode_plain(Context& ctx, const std::vector<int32_t>& prompt, int n) {
  auto text = prompt;
  const auto out = generate(ctx, greedy_params(), {}, prompt, n).tokens;
  text.insert(text.end(), out.begin(), out.end());
  ctx.truncate(0);
  std::vector<int32_t> cached(text.begin(), text.end() - 1);
  ctx.forward(Batch::sequence(cached, 0, false));
  std::vector<int32_t> all(cached.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int32_t>(i);
  ctx.commit(all);
  return text;
}

TEST(OnlineSkipSearch, MatchnessIsTheTeacherForcedAgreementOfTheSkippedModel) {
  const auto model = four_layers();
  Context ctx(model, {.n_ctx = 512, .n_threads = 2});
  const auto prompt = random_prompt(12, 300, 3);
  const auto text = decode_plain(ctx, prompt, 60);
  OnlineSkipOptions o;
  o.window = 16;
  OnlineSkipSearch search(4, o);
  search.begin(static_cast<int32_t>(prompt.size()));
  const LayerPlan plan = parse_skip_plan("a1,m2", 4);
  const int32_t n_past = ctx.n_past();
  const double score = search.matchness(ctx, text, plan);
  EXPECT_EQ(ctx.n_past(), n_past);

  // The same by hand: the prompt's cells, then the window one token at a time with the plan.
  Context ref(model, {.n_ctx = 512, .n_threads = 2});
  ref.forward(Batch::sequence(prompt, 0, false));
  std::vector<int32_t> all(prompt.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int32_t>(i);
  ref.commit(all);
  int hits = 0;
  for (int i = 0; i < o.window; ++i) {
    const int32_t token = text[prompt.size() + static_cast<size_t>(i)];
    Batch b = Batch::sequence({&token, 1}, ref.n_past(), true);
    b.plan = plan;
    ref.forward(b);
    const auto row = ref.logits(0);
    const auto best = static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
    hits += best == text[prompt.size() + static_cast<size_t>(i) + 1];
    const int32_t zero = 0;
    ref.commit({&zero, 1});
  }
  EXPECT_DOUBLE_EQ(score, static_cast<double>(hits) / o.window);
  // Nothing skipped: the target agrees with its own greedy text everywhere.
  EXPECT_DOUBLE_EQ(search.matchness(ctx, text, LayerPlan{}), 1.0);
}

TEST(OnlineSkipSearch, OptimizesOncePerStepUntilItsLimit) {
  const auto model = four_layers();
  Context ctx(model, {.n_ctx = 512, .n_threads = 2});
  const auto prompt = random_prompt(10, 300, 4);
  const auto text = decode_plain(ctx, prompt, 40);
  OnlineSkipOptions o;
  o.window = 8;
  o.max_iterations = 5;
  o.max_score = 2;  // never reached: the iteration limit ends the search
  OnlineSkipSearch search(4, o);
  search.begin(static_cast<int32_t>(prompt.size()));
  const int32_t n_past = ctx.n_past();
  search.step(ctx, text);  // scores the starting set
  EXPECT_EQ(search.iterations(), 0);
  EXPECT_GE(search.best_score(), 0.0);
  for (int i = 0; i < 10; ++i) search.step(ctx, text);
  EXPECT_EQ(search.iterations(), 5);
  EXPECT_FALSE(search.optimizing());
  EXPECT_EQ(ctx.n_past(), n_past);
  EXPECT_LE(search.best_score(), 1.0);
  // Layers 0 and 3 always run; one of the four inner sublayers is skipped (45% of 4).
  const LayerPlan& p = search.plan();
  EXPECT_TRUE(p.runs_attention(0) && p.runs_mlp(0) && p.runs_attention(3) && p.runs_mlp(3));
}

TEST(OnlineSkipSearch, DecodingWithItIsLossless) {
  const auto model = four_layers();
  Context ctx(model, {.n_ctx = 1024, .n_threads = 2});
  DrafterRegistry registry = DrafterRegistry::with_builtin_methods();
  DrafterEnvironment env(model.get(), &ctx);
  const auto speculator = registry.make_speculator(registry.parse("self:skip=online"), env);
  for (const uint32_t seed : {1u, 2u, 3u}) {
    const auto prompt = random_prompt(15, 300, seed);
    const auto plain = generate(ctx, greedy_params(), {}, prompt, 150).tokens;
    EXPECT_EQ(first_difference(
                  generate_with(ctx, greedy_params(), speculator.get(), prompt, 150).tokens, plain),
              -1);
  }
}

TEST(OnlineSkipSearch, RefusesWhatItCannotAdapt) {
  EXPECT_THROW(OnlineSkipSearch(2), InputError);
  const auto model = four_layers();
  Context ctx(model, {.n_ctx = 256, .n_threads = 1});
  DrafterRegistry registry = DrafterRegistry::with_builtin_methods();
  DrafterEnvironment env(model.get(), &ctx);
  EXPECT_THROW(registry.make_speculator(registry.parse("self:skip=online:quant=q8_0"), env),
               InputError);
  EXPECT_THROW(registry.make_speculator(
                   registry.parse("draft:model=" + model->gguf().path() + ":skip=online"), env),
               InputError);
}

}  // namespace
}  // namespace aded
