// Speculator: prices each drafter's own time (a drafter slow enough is asked less, and output
// stays that of plain decoding), tells each drafter which of its nodes the target accepted, and
// hands every step to the selector of several arms.
#include <gtest/gtest.h>

#include <chrono>

#include "aded/aded_drafter.h"
#include "aded/drafter_registry.h"
#include "aded/error.h"
#include "aded/speculator.h"
#include "speculative/method_settings.h"
#include "speculative/spec_support.h"

namespace aded {
namespace {

using spec_testing::first_difference;
using spec_testing::generate;
using spec_testing::generate_with;
using spec_testing::greedy_params;
using spec_testing::random_prompt;
using spec_testing::repeating_prompt;
using spec_testing::tiny_model;

// Prompt lookup that takes `delay` longer per proposal: a drafter that costs real time, as a draft
// model or a layer-skipping pass does. Registered only here.
class SlowDrafter final : public Drafter {
 public:
  SlowDrafter(std::unique_ptr<Drafter> inner, std::chrono::microseconds delay) : inner_(std::move(inner)), delay_(delay) {}
  std::string_view name() const override { return "slow-pld"; }
  void begin(std::span<const int32_t> prompt) override { inner_->begin(prompt); }
  void observe(const DraftFeedback& f) override { inner_->observe(f); }
  void propose(const DraftRequest& r, DraftTree& out) override {
    const auto until = std::chrono::steady_clock::now() + delay_;
    inner_->propose(r, out);
    while (std::chrono::steady_clock::now() < until) {
    }
  }

 private:
  std::unique_ptr<Drafter> inner_;
  std::chrono::microseconds delay_;
};

DrafterRegistry registry_with_slow_pld() {
  DrafterRegistry r = DrafterRegistry::with_builtin_methods();
  DrafterMethod m;
  m.name = "slow-pld";
  m.summary = "prompt lookup slowed down (test)";
  m.settings = {integer_setting("delay-us", 0, 1000000, 0, "extra time per proposal")};
  m.create = [](const MethodSettings& s, DrafterEnvironment&) -> std::unique_ptr<Drafter> {
    return std::make_unique<SlowDrafter>(make_prompt_lookup_drafter(), std::chrono::microseconds(s.integer("delay-us")));
  };
  r.add(m);
  return r;
}

TEST(Speculator, ACostlyDrafterIsUsedLess) {
  const auto model = tiny_model();
  Context ctx(model, {.n_ctx = 1024, .n_threads = 1});
  const auto prompt = repeating_prompt({40, 41, 42, 43, 44, 45}, 8);
  const int n = 400;
  const auto plain = generate(ctx, greedy_params(), {}, prompt, n).tokens;
  const DrafterRegistry registry = registry_with_slow_pld();
  DrafterEnvironment env(model.get());
  double share[2];
  const char* methods[2] = {"slow-pld:delay-us=0", "slow-pld:delay-us=20000"};
  for (int k = 0; k < 2; ++k) {
    const auto speculator = registry.make_speculator(registry.parse(methods[k]), env);
    const auto r = generate_with(ctx, greedy_params(), speculator.get(), prompt, n);
    EXPECT_EQ(first_difference(r.tokens, plain), -1) << methods[k];
    const ArmStats& s = speculator->arm_stats(0);
    ASSERT_GT(s.steps, 0);
    share[k] = static_cast<double>(s.drafted_steps) / static_cast<double>(s.steps);
    EXPECT_GT(speculator->draft_cost(0).at(16), 0) << "its proposals were timed";
    if (k == 1) {
      EXPECT_GT(speculator->draft_cost(0).at(16), 0.015) << "20 ms per proposal";
    }
  }
  // A plain step of this model takes well under a millisecond: a 20 ms drafter cannot pay, and is
  // asked only to re-measure it now and then; a fast one drafts on most steps. (Not all: its cost
  // is measured, and next to this tiny model's forward, under a sanitizer or on a loaded machine,
  // a lookup is not free; release builds on a quiet machine draft on ~99% of the steps.)
  EXPECT_GT(share[0], 0.5);
  EXPECT_LT(share[1], 0.1);
  RecordProperty("drafted_share_fast", std::to_string(share[0]));
  RecordProperty("drafted_share_slow", std::to_string(share[1]));
}

// A drafter that checks its feedback: accepted nodes of its own tree are exactly the emitted
// tokens that were drafted, and trees it did not draft are not reported.
class FeedbackChecker final : public Drafter {
 public:
  std::string_view name() const override { return "feedback"; }
  void begin(std::span<const int32_t>) override {}
  void propose(const DraftRequest& r, DraftTree& out) override {
    inner_->propose(r, out);
    ++proposals_;
  }
  void observe(const DraftFeedback& f) override {
    inner_->observe(f);
    ++observed_;
    if (!f.verified) {
      EXPECT_TRUE(f.accepted_nodes.empty());
      return;
    }
    ++own_;
    const auto emitted = f.context.subspan(f.context.size() - static_cast<size_t>(f.added));
    ASSERT_EQ(f.accepted_nodes.size() + 1, emitted.size());
    int32_t parent = DraftTree::kRoot;
    for (size_t i = 0; i < f.accepted_nodes.size(); ++i) {
      const int node = f.accepted_nodes[i];
      EXPECT_EQ(f.verified->parent(node), parent);
      EXPECT_EQ(f.verified->token(node), emitted[i]);
      parent = node;
    }
    accepted_ += static_cast<int64_t>(f.accepted_nodes.size());
  }
  std::unique_ptr<Drafter> inner_ = make_prompt_lookup_drafter();
  int proposals_ = 0, observed_ = 0, own_ = 0;
  int64_t accepted_ = 0;
};

TEST(Speculator, DraftersLearnWhichNodesWereAccepted) {
  const auto model = tiny_model();
  Context ctx(model, {.n_ctx = 1024, .n_threads = 1});
  const auto prompt = repeating_prompt({70, 71, 72, 73, 74}, 8);
  FeedbackChecker checker;
  Speculator speculator;
  speculator.add(checker, DraftLimits{.max_nodes = 8, .max_depth = 8, .adaptive_budget = false});
  const auto r = generate_with(ctx, greedy_params(), &speculator, prompt, 300);
  EXPECT_GT(checker.own_, 10);
  EXPECT_EQ(checker.observed_, r.stats.steps + 1) << "every step, and the prefill's token";
  EXPECT_EQ(checker.accepted_, speculator.arm_stats(0).nodes_accepted);
  EXPECT_EQ(checker.accepted_, spec_testing::accepted_drafts(r.stats));
}

// Several arms: the selector picks each step's drafter and sees every outcome.
class AlternatingSelector final : public DrafterSelector {
 public:
  void begin(const Speculator&, std::span<const int32_t>) override { ++requests; }
  int choose(const Speculator& s, std::span<const int32_t>) override { return next_ = (next_ + 1) % s.arms(); }
  void observe(const Speculator&, const StepOutcome& o) override {
    EXPECT_EQ(o.arm, next_);
    ASSERT_NE(o.tree, nullptr);
    ASSERT_NE(o.result, nullptr);
    EXPECT_EQ(o.result->emitted.size(), o.result->accepted_nodes.size() + 1);
    ++outcomes[static_cast<size_t>(o.arm)];
  }
  int requests = 0;
  std::array<int, 2> outcomes{};

 private:
  int next_ = -1;
};

TEST(Speculator, TheSelectorChoosesAmongArmsAndSeesEveryStep) {
  const auto model = tiny_model();
  Context ctx(model, {.n_ctx = 1024, .n_threads = 1});
  const auto prompt = random_prompt(30, 300, 5);
  const auto plain = generate(ctx, greedy_params(), {}, prompt, 200).tokens;
  Speculator speculator;
  speculator.add(make_prompt_lookup_drafter(), DraftLimits{}, "pld");
  speculator.add(make_aded_drafter(nullptr, AdedOptions{}), DraftLimits{.max_nodes = 8}, "aded");
  EXPECT_EQ(speculator.max_nodes(), 16);
  EXPECT_THROW(generate_with(ctx, greedy_params(), &speculator, prompt, 10), Error) << "several arms need a selector";
  auto selector = std::make_unique<AlternatingSelector>();
  AlternatingSelector* sel = selector.get();
  speculator.set_selector(std::move(selector));
  const auto r = generate_with(ctx, greedy_params(), &speculator, prompt, 200);
  EXPECT_EQ(first_difference(r.tokens, plain), -1);
  EXPECT_EQ(sel->requests, 1);
  EXPECT_EQ(sel->outcomes[0] + sel->outcomes[1], r.stats.steps);
  EXPECT_LE(std::abs(sel->outcomes[0] - sel->outcomes[1]), 1);
  EXPECT_EQ(speculator.arm_stats(0).steps, sel->outcomes[0]);
  EXPECT_EQ(speculator.arm_stats(1).steps, sel->outcomes[1]);
}

}  // namespace
}  // namespace aded
