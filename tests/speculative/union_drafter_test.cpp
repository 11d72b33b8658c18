// The union drafter: several drafters' nodes in one tree. Lossless like every drafter (greedy: the
// plain tokens, whatever the members and budgets; sampling: exact, also when deterministic
// candidates sit beside a draft model's sampled ones, by chi-square), its members' confidences
// calibrated against what the target accepted (a confidently wrong member loses its place in the
// budget to a right one), and the method string's checks.
#include <gtest/gtest.h>

#include <map>

#include "aded/decoding.h"
#include "aded/drafter_registry.h"
#include "aded/error.h"
#include "aded/union_drafter.h"
#include "speculative/chi_square.h"
#include "speculative/exact_distributions.h"
#include "speculative/spec_support.h"

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

// A deterministic member that knows the target: its top two tokens after the context (from a
// context of its own), the first with the target's greedy token after it. Confidence `confidence`.
class TargetTopDrafter final : public Drafter {
 public:
  TargetTopDrafter(std::shared_ptr<const Model> model, float confidence)
      : model_(std::move(model)), ctx_(model_, {.n_ctx = 1024, .n_threads = 1}), confidence_(confidence) {}
  std::string_view name() const override { return "target-top"; }
  void begin(std::span<const int32_t>) override {}
  void observe(const DraftFeedback&) override {}
  void propose(const DraftRequest& r, DraftTree& out) override {
    const auto top = top_two(r.context);
    const int first = out.add(DraftTree::kRoot, top[0], confidence_);
    out.add(DraftTree::kRoot, top[1], confidence_ * 0.5f);
    if (r.max_depth >= 2) {
      std::vector<int32_t> longer(r.context.begin(), r.context.end());
      longer.push_back(top[0]);
      out.add(first, top_two(longer)[0], confidence_ * confidence_);
    }
  }

 private:
  std::array<int32_t, 2> top_two(std::span<const int32_t> context) {
    ctx_.truncate(0);
    Batch b = Batch::sequence(context, 0, false);
    b.want_logits.assign(context.size(), 0);
    b.want_logits.back() = 1;
    ctx_.forward(b);
    const auto row = ctx_.logits(static_cast<int>(context.size()) - 1);
    std::array<int32_t, 2> best{0, 1};
    if (row[1] > row[0]) std::swap(best[0], best[1]);
    for (int32_t i = 2; i < static_cast<int32_t>(row.size()); ++i) {
      if (row[static_cast<size_t>(i)] > row[static_cast<size_t>(best[0])]) {
        best[1] = best[0];
        best[0] = i;
      } else if (row[static_cast<size_t>(i)] > row[static_cast<size_t>(best[1])]) {
        best[1] = i;
      }
    }
    return best;
  }
  std::shared_ptr<const Model> model_;
  Context ctx_;
  float confidence_;
};

// A member that is always confidently wrong: a chain of tokens the greedy target never writes
// (the context's last token repeated, rarely the argmax on a random model... checked by output).
class WrongDrafter final : public Drafter {
 public:
  std::string_view name() const override { return "wrong"; }
  void begin(std::span<const int32_t>) override {}
  void observe(const DraftFeedback&) override {}
  void propose(const DraftRequest& r, DraftTree& out) override {
    int parent = DraftTree::kRoot;
    for (int d = 0; d < std::min(r.max_depth, 4); ++d)
      parent = out.add(parent, 7 + (r.context.back() + d) % 11, 0.99f);
  }
};

// A member that counts how often it is asked, and drafts nothing.
class CountingDrafter final : public Drafter {
 public:
  explicit CountingDrafter(std::shared_ptr<int> asked) : asked_(std::move(asked)) {}
  std::string_view name() const override { return "counting"; }
  void begin(std::span<const int32_t>) override {}
  void observe(const DraftFeedback&) override {}
  void propose(const DraftRequest&, DraftTree&) override { ++*asked_; }

 private:
  std::shared_ptr<int> asked_;
};

struct UnionSetup {
  std::shared_ptr<const Model> model = tiny_model();
  Context ctx{model, {.n_ctx = 1024, .n_threads = 2}};
  std::shared_ptr<int> asked = std::make_shared<int>(0);  // proposals of the "counting" member
  DrafterRegistry registry = registry_with_test_members(model, asked);
  DrafterEnvironment env{model.get(), &ctx};

  static DrafterRegistry registry_with_test_members(std::shared_ptr<const Model> model,
                                                    std::shared_ptr<int> asked = std::make_shared<int>(0)) {
    DrafterRegistry r = DrafterRegistry::with_builtin_methods();
    DrafterMethod top;
    top.name = "target-top";
    top.summary = "test: the target's top two tokens";
    top.create = [model](const MethodSettings&, DrafterEnvironment&) -> std::unique_ptr<Drafter> {
      return std::make_unique<TargetTopDrafter>(model, 0.9f);
    };
    r.add(top);
    DrafterMethod wrong;
    wrong.name = "wrong";
    wrong.summary = "test: confidently wrong";
    wrong.create = [](const MethodSettings&, DrafterEnvironment&) -> std::unique_ptr<Drafter> {
      return std::make_unique<WrongDrafter>();
    };
    r.add(wrong);
    DrafterMethod counting;
    counting.name = "counting";
    counting.summary = "test: counts its proposals";
    counting.create = [asked](const MethodSettings&, DrafterEnvironment&) -> std::unique_ptr<Drafter> {
      return std::make_unique<CountingDrafter>(asked);
    };
    r.add(counting);
    return r;
  }
};

std::vector<std::vector<int32_t>> prompts() {
  return {random_prompt(20, 300, 11), repeating_prompt({40, 41, 42, 43, 44}, 5)};
}

TEST(UnionDrafter, GreedyOutputIsThePlainOutput) {
  UnionSetup s;
  const std::string draft = tiny_model(300, 4242)->gguf().path();
  for (const std::string& method : std::vector<std::string>{
           "union:model=" + draft, "union:of=pld/draft:model=" + draft + ":branches=2",
        "union:of=aded/pld/target-top", "union:of=wrong/target-top:max=2:budget=fixed",
        "union:of=aded/draft/wrong:model=" + draft + ":max=64:budget=fixed",
        "union:of=aded/draft:ask-below=0:model=" + draft, "union:of=wrong/draft:ask-below=0.5:model=" + draft,
        "union:of=pld/draft:ask-below=1:model=" + draft}) {
    const auto speculator = s.registry.make_speculator(s.registry.parse(method), s.env);
    for (const auto& p : prompts()) {
      const auto plain = generate(s.ctx, greedy_params(), {}, p, 120).tokens;
      const auto r = generate_with(s.ctx, greedy_params(), speculator.get(), p, 120);
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

// The wrong member claims 0.99 for every node; the right one 0.9. Calibrated, the wrong member's
// nodes fall below the right one's, so a budget of three nodes ends up holding the right ones.
TEST(UnionDrafter, CalibrationGivesTheBudgetToTheMemberThatIsRight) {
  UnionSetup s;
  const auto speculator = s.registry.make_speculator(
      s.registry.parse("union:of=wrong/target-top:max=3:budget=fixed"), s.env);
  const auto p = random_prompt(20, 300, 5);
  generate_with(s.ctx, greedy_params(), speculator.get(), p, 100);  // learns
  const auto r = generate_with(s.ctx, greedy_params(), speculator.get(), p, 100);
  // The right member's first node is the target's token: about one accepted node per step.
  const double per_step = static_cast<double>(accepted_drafts(r.stats)) / static_cast<double>(r.stats.steps);
  EXPECT_GT(per_step, 0.9) << "accepted " << accepted_drafts(r.stats) << " in " << r.stats.steps << " steps";
}

// The cascade (a fixed budget, so the union is asked every step): a member after the first drafts
// every step with ask-below=1, rarely behind a first member that is always right (its best node's
// calibrated acceptance climbs past 0.7), and most steps behind one that is always wrong.
TEST(UnionDrafter, LaterMembersDraftWhereTheFirstIsUnsure) {
  UnionSetup s;
  const auto p = random_prompt(20, 300, 5);
  const auto share_asked = [&](const std::string& method) {
    *s.asked = 0;
    const auto speculator = s.registry.make_speculator(s.registry.parse(method), s.env);
    const auto r = generate_with(s.ctx, greedy_params(), speculator.get(), p, 150);
    EXPECT_GT(r.stats.steps, 20) << method;
    return static_cast<double>(*s.asked) / static_cast<double>(r.stats.steps);
  };
  EXPECT_GT(share_asked("union:of=target-top/counting:ask-below=1:budget=fixed"), 0.95);
  EXPECT_LT(share_asked("union:of=target-top/counting:ask-below=0.7:budget=fixed"), 0.2);
  EXPECT_GT(share_asked("union:of=wrong/counting:ask-below=0.7:budget=fixed"), 0.8);
}

TEST(UnionDrafter, MethodStringsAreChecked) {
  UnionSetup s;
  const auto message = [&](const std::string& method) -> std::string {
    try {
      s.registry.create(s.registry.parse(method), s.env);
    } catch (const InputError& e) {
      return e.what();
    }
    return "(accepted)";
  };
  EXPECT_NE(message("union:of=aded").find("at least two members"), std::string::npos);
  EXPECT_NE(message("union:of=aded/aded").find("'aded' is a member twice"), std::string::npos);
  EXPECT_NE(message("union:of=aded/nope").find("unknown member 'nope'"), std::string::npos);
  EXPECT_NE(message("union:of=aded/union").find("cannot be a member"), std::string::npos);
  EXPECT_NE(message("union:of=aded/pld:branches=2").find("no member of the union (aded/pld) has a setting 'branches'"),
            std::string::npos);
  EXPECT_NE(message("union:of=aded/pld:ngram-max=0").find("ngram-max"), std::string::npos);
  EXPECT_NE(message("union:of=aded/draft").find("needs a draft model"), std::string::npos);
  EXPECT_EQ(message("union:of=aded/pld:ngram-max=4:max=8"), "(accepted)");
  EXPECT_NE(message("union:of=aded/pld:ask-below=2").find("ask-below"), std::string::npos);
  EXPECT_EQ(s.registry.parse("union:of=aded/pld").settings.real("ask-below"), 0.7);
  EXPECT_EQ(s.registry.parse("union:of=aded/pld:ask-below=0.25").settings.real("ask-below"), 0.25);
  const MethodChoice c = s.registry.parse("union:of=pld/aded:ngram-max=4:max=8");
  EXPECT_EQ(c.limits.max_nodes, 8);
  ASSERT_EQ(c.members.size(), 2u);
  EXPECT_EQ(c.members[0].method, "pld");
  EXPECT_EQ(c.members[0].settings.integer("ngram-max"), 4);
  EXPECT_EQ(c.members[1].method, "aded");
}

// Sampling: a deterministic member (the target's top two) beside a draft model's sampled chain
// and alternatives; every verified token an exact sample of p (chi-square over seeds, as
// model_tree_sampling_test does for the draft model alone).
TEST(UnionDrafter, SamplingStaysExactWithDeterministicAndSampledCandidates) {
  const auto target = tiny_model(300, 42);
  const auto draft = tiny_model(300, 4242);
  SamplingParams params;
  params.temperature = 0.8f;
  params.top_k = 4;
  params.top_p = 1.0f;
  params.min_p = 0.0f;
  params.repeat_penalty = 1.0f;
  const auto prompt = random_prompt(12, 300, 99);
  const spec_testing::Exact exact = spec_testing::exact_distributions(target, params, prompt);

  Context ctx(target, {.n_ctx = 64, .n_threads = 1});
  DrafterEnvironment env(target.get(), &ctx);
  const DrafterRegistry registry = UnionSetup::registry_with_test_members(target);
  const auto speculator = registry.make_speculator(
      registry.parse("union:of=target-top/draft:model=" + draft->gguf().path() +
                     ":branches=2:branch-below=1:exit=0:adaptive-exit=off:budget=fixed:max=12:depth=3"
                     ":ask-below=1"),  // both members every step: the mix is what is tested
      env);
  std::map<int32_t, std::map<int32_t, int64_t>> counts;
  int64_t verified = 0, accepted = 0;
  constexpr int kTrials = 6000;
  for (int seed = 0; seed < kTrials; ++seed) {
    params.seed = static_cast<uint64_t>(seed);
    const auto r = generate_with(ctx, params, speculator.get(), prompt, 2);
    ASSERT_EQ(r.tokens.size(), 2u);
    ++counts[r.tokens[0]][r.tokens[1]];
    verified += r.stats.nodes_verified;
    accepted += accepted_drafts(r.stats);
  }
  spec_testing::ChiSquare second;
  int64_t impossible = 0;
  for (const auto& [x1, c] : counts) {
    int64_t n = 0;
    for (const auto& [t, k] : c) n += k;
    const auto it = exact.p2.find(x1);
    ASSERT_NE(it, exact.p2.end()) << "x1 " << x1 << " is outside the target's support";
    spec_testing::add_chi_square(c, n, it->second, second, impossible);
  }
  EXPECT_EQ(impossible, 0);
  EXPECT_GT(verified, int64_t{kTrials} * 4);
  EXPECT_GT(accepted, int64_t{kTrials} / 4) << "the target's top tokens are often accepted";
  EXPECT_GE(second.df, 6);
  EXPECT_GT(second.p_value(), spec_testing::kAlpha) << "chi2 " << second.chi2 << " df " << second.df;
}

}  // namespace
}  // namespace aded
