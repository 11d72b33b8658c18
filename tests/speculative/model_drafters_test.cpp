// Drafters that run a model: the target with sublayers skipped, a low-bit copy of the target, a
// separate draft model. Lossless like every drafter (greedy and seeded sampling give the plain
// tokens); a draft model identical to the target has every draft accepted, which checks that its
// cache follows the request across steps and requests; the adaptive exit and skip sets.
#include <gtest/gtest.h>

#include <cmath>

#include "aded/drafter_registry.h"
#include "aded/error.h"
#include "aded/model_drafters.h"
#include "aded/model_tools.h"
#include "speculative/draft_sampler.h"
#include "speculative/spec_support.h"
#include "support/test_support.h"

namespace aded {
namespace {

using spec_testing::accepted_drafts;
using spec_testing::first_difference;
using spec_testing::generate;
using spec_testing::generate_with;
using spec_testing::greedy_params;
using spec_testing::random_prompt;
using spec_testing::repeating_prompt;
using spec_testing::tiny_model;

// Each update moves the threshold by (1 - 0.9) * 0.01 at most.
TEST(DraftExit, FollowsTheAcceptanceRate) {
  DraftExit poor;
  for (int i = 0; i < 100; ++i) poor.update(8, 1, true);
  EXPECT_NEAR(poor.threshold(), 0.9f, 1e-4) << "drafts mostly rejected: stop earlier";
  DraftExit good;
  for (int i = 0; i < 100; ++i) good.update(4, 4, false);
  EXPECT_LT(good.threshold(), 0.71f) << "accepted drafts that exited early: draft more";
  EXPECT_GT(good.threshold(), 0.69f);
  DraftExit at_limit;
  for (int i = 0; i < 50; ++i) at_limit.update(8, 8, true);
  const float settled = at_limit.threshold();
  EXPECT_LT(settled, 0.81f) << "it rose only while the smoothed rate was still low";
  for (int i = 0; i < 50; ++i) at_limit.update(8, 8, true);
  EXPECT_FLOAT_EQ(at_limit.threshold(), settled) << "accepted and already at the limit: stay";
  DraftExit fixed(DraftExitOptions{.threshold = 0.6f, .adaptive = false});
  fixed.update(8, 0, true);
  EXPECT_FLOAT_EQ(fixed.threshold(), 0.6f);
}

TEST(SkipPlan, ParsesSetsAndNamesBadItems) {
  EXPECT_TRUE(parse_skip_plan("", 4).attention.empty());
  EXPECT_TRUE(parse_skip_plan("none", 4).mlp.empty());
  const LayerPlan every = parse_skip_plan("every-other", 4);
  EXPECT_EQ(every.attention, (std::vector<uint8_t>{1, 0, 1, 0}));
  EXPECT_EQ(every.mlp, (std::vector<uint8_t>{1, 0, 1, 0}));
  const LayerPlan list = parse_skip_plan("a0,m3,a2", 4);
  EXPECT_EQ(list.attention, (std::vector<uint8_t>{0, 1, 0, 1}));
  EXPECT_EQ(list.mlp, (std::vector<uint8_t>{1, 1, 1, 0}));
  for (const char* bad : {"a4", "x1", "m-1", "a", "a1,,m2", "a1x", "every"})
    EXPECT_THROW(parse_skip_plan(bad, 4), InputError) << bad;
}

// tune-skip writes a skip set as format_skip_plan spells it, in a file that self:skip=@FILE reads.
TEST(SkipPlan, FormatsWhatItParsesAndReadsSkipFiles) {
  EXPECT_EQ(format_skip_plan(parse_skip_plan("m3,a2,a0", 4)), "a0,a2,m3");
  EXPECT_EQ(format_skip_plan(parse_skip_plan("a0+m3", 4)),
            "a0,m3");  // '+' inside bench-spec --methods
  EXPECT_EQ(format_skip_plan(LayerPlan{}), "none");
  EXPECT_EQ(format_skip_plan(parse_skip_plan("every-other", 6)), "a1,a3,a5,m1,m3,m5");
  testing::TempDir dir;
  testing::write_file(dir / "good.skip", "# made by hand\n\n  a1,m2 \r\nignored\n");
  EXPECT_EQ(format_skip_plan(read_skip_plan("@" + (dir / "good.skip").string(), 4)), "a1,m2");
  testing::write_file(dir / "bad.skip", "# comment only\na9\n");
  testing::write_file(dir / "empty.skip", "# nothing\n\n");
  const auto message = [](const std::string& spec) {
    try {
      read_skip_plan(spec, 4);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(message("@" + (dir / "bad.skip").string()).find("bad.skip"), std::string::npos);
  EXPECT_NE(message("@" + (dir / "bad.skip").string()).find("a9"), std::string::npos);
  EXPECT_NE(message("@" + (dir / "empty.skip").string()).find("no skip set"), std::string::npos);
  EXPECT_NE(message("@" + (dir / "absent.skip").string()).find("absent.skip"), std::string::npos);
  EXPECT_NE(message("@" + dir.path().string()).find(dir.path().string()),
            std::string::npos);  // a folder
  EXPECT_NE(message("@").find("give a file"), std::string::npos);
}

struct Drafting {
  std::shared_ptr<const Model> model = tiny_model();
  Context ctx{model, {.n_ctx = 1024, .n_threads = 2}};
  DrafterRegistry registry = DrafterRegistry::with_builtin_methods();
  DrafterEnvironment env{model.get(), &ctx};
};

std::vector<std::vector<int32_t>> prompts() {
  return {random_prompt(20, 300, 11), repeating_prompt({40, 41, 42, 43, 44}, 5),
          random_prompt(5, 300, 12)};
}

// Every model drafter, greedy: the plain tokens, whatever the skip set, copy or exit rule.
TEST(ModelDrafters, GreedyOutputIsThePlainOutput) {
  Drafting s;
  for (const std::string method :
       {"self:skip=every-other", "self:skip=a0,m1", "self:skip=m0:exit=0.5:adaptive-exit=off",
        "self:quant=q8_0", "self:quant=q4_0:skip=a1", "self:skip=every-other:max=4:budget=fixed"}) {
    const auto speculator = s.registry.make_speculator(s.registry.parse(method), s.env);
    for (const auto& p : prompts()) {
      const auto plain = generate(s.ctx, greedy_params(), {}, p, 200).tokens;
      const auto r = generate_with(s.ctx, greedy_params(), speculator.get(), p, 200);
      EXPECT_EQ(first_difference(r.tokens, plain), -1) << method;
    }
    EXPECT_GT(speculator->arm_stats(0).drafted_steps, 0) << method;
  }
}

// A separate draft model (another random model of the target's vocabulary), chains and trees,
// tiny and huge budgets: the plain tokens.
TEST(ModelDrafters, DraftModelChainsAndTreesGiveThePlainOutput) {
  Drafting s;
  const std::string draft = "draft:model=" + tiny_model(300, 4242)->gguf().path();
  for (const std::string& method :
       {draft, draft + ":branches=2", draft + ":branches=3:branch-below=1:branch-min=0:max=2:budget=fixed",
        draft + ":branches=2:branch-below=1:branch-min=0:max=64:budget=fixed:exit=0:adaptive-exit=off",
        draft + ":branches=4:branch-below=1:branch-min=0:max=128:depth=24:budget=fixed:exit=0"}) {
    const auto speculator = s.registry.make_speculator(s.registry.parse(method), s.env);
    for (const auto& p : prompts()) {
      const auto plain = generate(s.ctx, greedy_params(), {}, p, 100).tokens;
      const auto r = generate_with(s.ctx, greedy_params(), speculator.get(), p, 100);
      EXPECT_EQ(first_difference(r.tokens, plain), -1) << method;
    }
    // A fixed budget verifies what is drafted; an adaptive one may rightly verify nothing of a
    // random draft model's proposals on a loaded machine (their cost measured against the step's).
    if (method.find("budget=fixed") != std::string::npos)
      EXPECT_GT(speculator->arm_stats(0).nodes_verified, 0) << method;
    else
      EXPECT_GT(speculator->arm_stats(0).drafted_steps, 0) << method;
  }
}

// With the target as its own draft model, a tree's chain is the target's greedy path: every chain
// node is accepted, the alternatives beside it never are, and the draft cache (which forwarded the
// alternatives beside the chain) still follows the request step after step.
TEST(ModelDrafters, ATreeOfTheTargetItselfHasItsWholeChainAccepted) {
  Drafting s;
  const std::string path = s.model->gguf().path();
  const auto speculator = s.registry.make_speculator(
      s.registry.parse("draft:model=" + path +
                       ":branches=2:branch-below=1:branch-min=0:budget=fixed:max=64:depth=5:adaptive-exit=off:exit=0"),
      s.env);
  for (int round = 0; round < 2; ++round)
    for (const auto& p : prompts()) {
      const auto plain = generate(s.ctx, greedy_params(), {}, p, 120).tokens;
      const auto r = generate_with(s.ctx, greedy_params(), speculator.get(), p, 120);
      EXPECT_EQ(first_difference(r.tokens, plain), -1);
      // Each step accepts the whole chain of 5 (or what is left of the 120 tokens).
      EXPECT_GE(accepted_drafts(r.stats), int64_t{119} * 5 / 6 - 5) << "round " << round;
      EXPECT_GT(r.stats.nodes_verified, accepted_drafts(r.stats)) << "no alternatives were drafted";
    }
}

// Seeded sampling with deterministic drafts (sample=off: the drafting model's argmax): the same
// tokens as plain sampling with that seed.
TEST(ModelDrafters, SampledOutputIsThePlainOutput) {
  Drafting s;
  SamplingParams sampling;
  sampling.temperature = 0.8f;
  sampling.seed = 7;
  for (const std::string& method :
       std::vector<std::string>{"self:skip=every-other:sample=off", "self:quant=q8_0:sample=off",
                                "draft:model=" + s.model->gguf().path() + ":sample=off"}) {
    const auto speculator = s.registry.make_speculator(s.registry.parse(method), s.env);
    for (const auto& p : prompts()) {
      const auto plain = generate(s.ctx, sampling, {}, p, 150).tokens;
      EXPECT_EQ(
          first_difference(generate_with(s.ctx, sampling, speculator.get(), p, 150).tokens, plain),
          -1)
          << method;
    }
  }
}

// The target itself as the draft model: greedy drafts are the target's own tokens, so every
// verified node is accepted, step after step and request after request.
TEST(ModelDrafters, TheTargetAsDraftModelHasEveryDraftAccepted) {
  Drafting s;
  testing::TempDir dir;
  const std::string path = s.model->gguf().path();
  const auto speculator = s.registry.make_speculator(
      s.registry.parse("draft:model=" + path + ":budget=fixed:max=6:adaptive-exit=off:exit=0"),
      s.env);
  for (int round = 0; round < 2; ++round)
    for (const auto& p : prompts()) {
      const auto plain = generate(s.ctx, greedy_params(), {}, p, 120).tokens;
      const auto r = generate_with(s.ctx, greedy_params(), speculator.get(), p, 120);
      EXPECT_EQ(first_difference(r.tokens, plain), -1);
      EXPECT_GT(r.stats.nodes_verified, 0);
      EXPECT_EQ(accepted_drafts(r.stats), r.stats.nodes_verified) << "round " << round;
    }
}

TEST(ModelDrafters, MethodsSayWhatTheyNeed) {
  Drafting s;
  const auto message = [&](const std::string& method, DrafterEnvironment& env) -> std::string {
    try {
      s.registry.create(s.registry.parse(method), env);
    } catch (const InputError& e) {
      return e.what();
    }
    return "(accepted)";
  };
  EXPECT_NE(message("self", s.env).find("give skip=, quant= or copy="), std::string::npos);
  EXPECT_NE(message("draft", s.env).find("needs a draft model"), std::string::npos);
  DrafterEnvironment no_context(s.model.get());
  EXPECT_NE(message("self:skip=a0", no_context).find("needs the target's context"),
            std::string::npos);
  EXPECT_NE(message("self:skip=a9", s.env).find("a9"), std::string::npos);
  // A draft model of another vocabulary cannot draft the target's tokens.
  const auto other = tiny_model(320);
  const std::string mismatch = message("draft:model=" + other->gguf().path(), s.env);
  EXPECT_NE(mismatch.find("vocabulary (320 tokens) is not the target's (300 tokens"),
            std::string::npos)
      << mismatch;
  EXPECT_NE(mismatch.find("ids 300..319 only in the draft model"), std::string::npos) << mismatch;
  // copy= must be a copy of the target: same vocabulary and shape, not both a file and quant=.
  EXPECT_NE(message("self:copy=" + other->gguf().path(), s.env).find("vocabulary"),
            std::string::npos);
  const std::string path = s.model->gguf().path();
  EXPECT_NE(message("self:copy=" + path + ":quant=q8_0", s.env).find("not both"),
            std::string::npos);
  EXPECT_NE(message("self:copy=" + path + ":skip=online", s.env).find("copy="), std::string::npos);
}

// A copy the user made with aded quantize drafts like the copy made at load: the same tokens.
TEST(ModelDrafters, ACopyFromAFileDraftsLikeOneMadeAtLoad) {
  Drafting s;
  testing::TempDir dir;
  QuantizeOptions q;
  q.type = TensorType::Q8_0;
  quantize_model(s.model->gguf().path(), (dir / "q8.gguf").string(), q);
  const auto at_load =
      s.registry.make_speculator(s.registry.parse("self:quant=q8_0:budget=fixed"), s.env);
  const auto from_file = s.registry.make_speculator(
      s.registry.parse("self:copy=" + (dir / "q8.gguf").string() + ":budget=fixed"), s.env);
  for (const auto& p : prompts()) {
    const auto plain = generate(s.ctx, greedy_params(), {}, p, 100).tokens;
    const auto a = generate_with(s.ctx, greedy_params(), at_load.get(), p, 100);
    const auto b = generate_with(s.ctx, greedy_params(), from_file.get(), p, 100);
    EXPECT_EQ(first_difference(b.tokens, plain), -1);
    EXPECT_EQ(a.stats.nodes_verified, b.stats.nodes_verified);
    EXPECT_EQ(a.stats.accepted_at_depth, b.stats.accepted_at_depth);
  }
}

// A copy drafts over the target's own cache: with the target's weights as the "copy", every draft
// is the target's token (the copy reads the cells the target wrote, none of its own), request after
// request, whatever steps it skipped.
TEST(ModelDrafters, ACopyDraftsOverTheTargetsCache) {
  Drafting s;
  const std::string path = s.model->gguf().path();
  const auto speculator = s.registry.make_speculator(
      s.registry.parse("self:copy=" + path + ":budget=fixed:max=5:adaptive-exit=off:exit=0"), s.env);
  for (int round = 0; round < 2; ++round)
    for (const auto& p : prompts()) {
      const auto plain = generate(s.ctx, greedy_params(), {}, p, 120).tokens;
      const auto r = generate_with(s.ctx, greedy_params(), speculator.get(), p, 120);
      EXPECT_EQ(first_difference(r.tokens, plain), -1);
      EXPECT_GT(r.stats.nodes_verified, 0);
      EXPECT_EQ(accepted_drafts(r.stats), r.stats.nodes_verified) << "round " << round;
    }
}

// When the target samples, model drafters draw their drafts from their own distribution q and
// attach it. A "copy" with the target's weights has q == p at every node, so the verifier accepts
// every draft (min(1, p/q) = 1): the drafts come with the right q, computed from the right cells.
TEST(ModelDrafters, SampledDraftsOfTheTargetItselfAreAllAccepted) {
  Drafting s;
  SamplingParams sampling;
  sampling.temperature = 0.8f;
  sampling.seed = 3;
  const std::string path = s.model->gguf().path();
  for (const std::string& method :
       {"self:copy=" + path + ":budget=fixed:max=5:adaptive-exit=off:exit=0",
        "draft:model=" + path + ":budget=fixed:max=5:adaptive-exit=off:exit=0"}) {
    const auto speculator = s.registry.make_speculator(s.registry.parse(method), s.env);
    for (const auto& p : prompts()) {
      const auto r = generate_with(s.ctx, sampling, speculator.get(), p, 100);
      EXPECT_GT(r.stats.nodes_verified, 0) << method;
      EXPECT_EQ(accepted_drafts(r.stats), r.stats.nodes_verified) << method;
    }
  }
}

// The draws follow q: over many seeds, each token's frequency is its probability (within 4.5
// standard deviations), and q is the sampler's distribution of the logits.
TEST(DraftSampler, DrawsFromTheDistributionItAttaches) {
  SamplingParams sampling;
  sampling.temperature = 0.9f;
  sampling.top_k = 0;
  sampling.top_p = 1.0f;
  sampling.min_p = 0.0f;
  const std::vector<float> logits = {1.0f, 2.5f, 0.2f, 2.0f, -1.0f, 1.7f};
  const std::vector<int32_t> recent = {1, 2, 3};
  std::vector<int> counts(logits.size(), 0);
  std::vector<TokenProb> q;
  constexpr int kDraws = 20000;
  for (int seed = 0; seed < kDraws; ++seed) {
    sampling.seed = static_cast<uint64_t>(seed);
    DraftSampler d;
    d.reset(&sampling);
    ASSERT_TRUE(d.active());
    const Guess g = d.draw(logits, recent, 17);
    ++counts[static_cast<size_t>(g.token)];
    q = g.q;
    EXPECT_EQ(g.probability, g.q.front().p);
  }
  std::vector<TokenProb> expected;
  Sampler(sampling).distribution(logits, recent, expected);
  ASSERT_EQ(q.size(), expected.size());
  for (const TokenProb& t : expected) {
    const double f = static_cast<double>(counts[static_cast<size_t>(t.id)]) / kDraws;
    EXPECT_NEAR(f, t.p, 4.5 * std::sqrt(t.p * (1 - t.p) / kDraws)) << "token " << t.id;
  }
  DraftSampler greedy;
  sampling.temperature = 0;
  greedy.reset(&sampling);
  EXPECT_FALSE(greedy.active());
}

}  // namespace
}  // namespace aded
