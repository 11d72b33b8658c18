// The online selector (`select`): output stays plain decoding's (greedy and sampled with
// deterministic drafters), it follows the drafter that gives more tokens per second, scores
// shadowed drafters without choosing them, and still tries an arm it cannot shadow.
#include <gtest/gtest.h>

#include <memory>

#include "aded/drafter_registry.h"
#include "aded/error.h"
#include "aded/online_selector.h"
#include "aded/oracle_drafter.h"
#include "aded/speculator.h"
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

// Wraps a drafter and says whether it may be shadowed.
class Shadowable final : public Drafter {
 public:
  Shadowable(std::unique_ptr<Drafter> inner, bool shadow, std::string name)
      : inner_(std::move(inner)), shadow_(shadow), name_(std::move(name)) {}
  std::string_view name() const override { return name_; }
  void begin(std::span<const int32_t> prompt) override { inner_->begin(prompt); }
  void observe(const DraftFeedback& f) override { inner_->observe(f); }
  void propose(const DraftRequest& r, DraftTree& out) override { inner_->propose(r, out); }
  bool can_shadow() const override { return shadow_; }

 private:
  std::unique_ptr<Drafter> inner_;
  bool shadow_;
  std::string name_;
};

struct Arms {
  std::shared_ptr<std::vector<int32_t>> reference = std::make_shared<std::vector<int32_t>>();
  std::unique_ptr<Drafter> oracle(bool shadow) {
    return std::make_unique<Shadowable>(make_oracle_drafter(reference), shadow, "oracle");
  }
  std::unique_ptr<Drafter> wrong(bool shadow) {
    return std::make_unique<Shadowable>(std::make_unique<spec_testing::WrongChainDrafter>(), shadow, "wrong");
  }
};

constexpr DraftLimits kChain{.max_nodes = 6, .max_depth = 6, .adaptive_budget = false};

TEST(OnlineSelector, KeepsPlainDecodingsOutput) {
  const auto model = tiny_model();
  Context ctx(model, {.n_ctx = 1024, .n_threads = 1});
  const DrafterRegistry registry = DrafterRegistry::with_builtin_methods();
  DrafterEnvironment env(model.get());
  for (const auto& prompt : {repeating_prompt({40, 41, 42, 43, 44, 45}, 8), random_prompt(40, 300, 3)}) {
    for (float temperature : {0.0f, 0.8f}) {
      SamplingParams sampling = greedy_params();
      sampling.temperature = temperature;
      sampling.seed = 11;
      const auto plain = generate(ctx, sampling, {}, prompt, 300).tokens;
      const auto speculator = registry.make_speculator(registry.parse("select:of=pld/aded"), env);
      ASSERT_EQ(speculator->arms(), 2);
      const auto r = generate_with(ctx, sampling, speculator.get(), prompt, 300);
      // Deterministic drafts at temperature > 0 keep the plain tokens of the seed as well.
      EXPECT_EQ(first_difference(r.tokens, plain), -1) << "temperature " << temperature;
      EXPECT_GT(speculator->arm_stats(0).shadow_steps + speculator->arm_stats(1).shadow_steps, 0);
    }
  }
}

// Runs two arms under the selector and returns how many steps each was chosen for.
std::array<int64_t, 2> chosen_steps(std::unique_ptr<Drafter> first, std::unique_ptr<Drafter> second, Arms& arms,
                                    Speculator** out = nullptr) {
  const auto model = tiny_model();
  Context ctx(model, {.n_ctx = 1024, .n_threads = 1});
  const auto prompt = random_prompt(30, 300, 9);
  const auto plain = generate(ctx, greedy_params(), {}, prompt, 300).tokens;
  *arms.reference = prompt;
  arms.reference->insert(arms.reference->end(), plain.begin(), plain.end());
  static std::unique_ptr<Speculator> keep;
  keep = std::make_unique<Speculator>();
  keep->add(std::move(first), kChain);
  keep->add(std::move(second), kChain);
  keep->set_selector(make_online_selector());
  const auto r = generate_with(ctx, greedy_params(), keep.get(), prompt, 300);
  EXPECT_EQ(first_difference(r.tokens, plain), -1);
  if (out) *out = keep.get();
  return {keep->arm_stats(0).steps, keep->arm_stats(1).steps};
}

TEST(OnlineSelector, FollowsTheDrafterThatGivesMoreTokensPerSecond) {
  for (bool oracle_first : {true, false}) {
    Arms arms;
    const auto steps = oracle_first ? chosen_steps(arms.oracle(false), arms.wrong(false), arms)
                                    : chosen_steps(arms.wrong(false), arms.oracle(false), arms);
    const int64_t oracle = steps[oracle_first ? 0 : 1], wrong = steps[oracle_first ? 1 : 0];
    EXPECT_GE(wrong, 1) << "every arm is tried";
    EXPECT_GT(oracle, 4 * wrong) << "oracle " << oracle << " wrong " << wrong;
  }
}

TEST(OnlineSelector, ScoresAShadowedDrafterWithoutChoosingIt) {
  Arms arms;
  Speculator* s = nullptr;
  // The wrong arm cannot be shadowed, so it goes first; the oracle is scored on the text that
  // followed and taken from then on.
  const auto steps = chosen_steps(arms.wrong(false), arms.oracle(true), arms, &s);
  EXPECT_GE(steps[0], 1);
  EXPECT_GT(steps[1], 4 * steps[0]);
  EXPECT_GE(s->arm_stats(1).shadow_steps, 1) << "scored while the other arm drafted";
  EXPECT_EQ(s->arm_stats(0).shadow_steps, 0) << "an arm that cannot be shadowed is not";
}

TEST(OnlineSelector, AShadowedLoserIsNeverChosen) {
  Arms arms;
  Speculator* s = nullptr;
  const auto steps = chosen_steps(arms.oracle(false), arms.wrong(true), arms, &s);
  EXPECT_EQ(steps[1], 0) << "its shadow scores tell it apart without a step of its own";
  // Shadowed every few steps once it trails far behind, not every step.
  EXPECT_GE(s->arm_stats(1).shadow_steps, 3);
  EXPECT_LT(s->arm_stats(1).shadow_steps, steps[0] / 3);
}

TEST(OnlineSelector, MethodStrings) {
  const DrafterRegistry registry = DrafterRegistry::with_builtin_methods();
  const MethodChoice c = registry.parse("select:of=pld/aded:max=8:retry-every=16");
  EXPECT_EQ(c.method, "select");
  ASSERT_EQ(c.members.size(), 2u);
  EXPECT_EQ(c.members[1].method, "aded");
  EXPECT_EQ(c.settings.integer("retry-every"), 16);
  const auto message = [&](const std::string& text) {
    try {
      registry.parse(text);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  EXPECT_NE(message("select:of=aded").find("a select needs at least two members"), std::string::npos);
  EXPECT_NE(message("select:of=pld/select").find("cannot be a member of a select"), std::string::npos);
  EXPECT_NE(message("select:discount=2").find("discount"), std::string::npos);
  DrafterEnvironment env;
  EXPECT_THROW(registry.create(c, env), InputError) << "not one drafter: the arms of a speculator";
}

}  // namespace
}  // namespace aded
