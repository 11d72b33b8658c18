// The per-request selector (`auto`): output stays plain decoding's, every arm is tried once, then
// the arm that gave the larger speed-up drafts whole requests; a policy's arms and table must be
// the method's.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "aded/drafter_registry.h"
#include "aded/error.h"
#include "aded/oracle_drafter.h"
#include "aded/request_selector.h"
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

TEST(RequestSelector, KeepsPlainDecodingsOutput) {
  const auto model = tiny_model();
  Context ctx(model, {.n_ctx = 1024, .n_threads = 1});
  const DrafterRegistry registry = DrafterRegistry::with_builtin_methods();
  DrafterEnvironment env(model.get());
  const auto speculator = registry.make_speculator(registry.parse("auto:of=none/pld/aded"), env);
  ASSERT_EQ(speculator->arms(), 3);
  EXPECT_EQ(speculator->arm_name(0), "none");
  int request = 0;
  for (const auto& prompt : {repeating_prompt({40, 41, 42, 43, 44, 45}, 8), random_prompt(40, 300, 3)}) {
    for (float temperature : {0.0f, 0.8f}) {
      SamplingParams sampling = greedy_params();
      sampling.temperature = temperature;
      sampling.seed = 11;
      const auto plain = generate(ctx, sampling, {}, prompt, 200).tokens;
      const auto r = generate_with(ctx, sampling, speculator.get(), prompt, 200);
      EXPECT_EQ(first_difference(r.tokens, plain), -1) << "temperature " << temperature;
      ++request;
    }
  }
  // The first three requests tried the three arms in turn: the plain arm drafted nothing.
  EXPECT_GT(speculator->arm_stats(0).steps, 0);
  EXPECT_EQ(speculator->arm_stats(0).nodes_verified, 0);
  EXPECT_GT(speculator->arm_stats(1).steps, 0);
  EXPECT_GT(speculator->arm_stats(2).steps, 0);
}

TEST(RequestSelector, GivesRequestsToTheArmWithTheLargerSpeedUp) {
  const auto model = tiny_model();
  Context ctx(model, {.n_ctx = 1024, .n_threads = 1});
  const auto prompt = random_prompt(30, 300, 9);
  const auto plain = generate(ctx, greedy_params(), {}, prompt, 150).tokens;
  auto reference = std::make_shared<std::vector<int32_t>>(prompt);
  reference->insert(reference->end(), plain.begin(), plain.end());
  for (bool oracle_first : {true, false}) {
    Speculator s;
    constexpr DraftLimits chain{.max_nodes = 6, .max_depth = 6, .adaptive_budget = false};
    if (oracle_first) s.add(make_oracle_drafter(reference), chain, "oracle");
    s.add(std::make_unique<spec_testing::WrongChainDrafter>(), chain, "wrong");
    if (!oracle_first) s.add(make_oracle_drafter(reference), chain, "oracle");
    s.set_selector(make_request_selector({}));
    std::vector<int64_t> steps_before(2, 0);
    int oracle_requests = 0;
    for (int request = 0; request < 8; ++request) {
      const auto r = generate_with(ctx, greedy_params(), &s, prompt, 150);
      EXPECT_EQ(first_difference(r.tokens, plain), -1);
      const int oracle = oracle_first ? 0 : 1;
      const bool took_oracle = s.arm_stats(oracle).steps > steps_before[static_cast<size_t>(oracle)];
      const bool took_wrong = s.arm_stats(1 - oracle).steps > steps_before[static_cast<size_t>(1 - oracle)];
      EXPECT_NE(took_oracle, took_wrong) << "one arm per request";
      oracle_requests += took_oracle;
      for (int a = 0; a < 2; ++a) steps_before[static_cast<size_t>(a)] = s.arm_stats(a).steps;
    }
    EXPECT_EQ(oracle_requests, 7) << "the wrong arm once, to learn it is wrong";
  }
}

// Counts what it is asked; drafts nothing.
class CountingDrafter final : public Drafter {
 public:
  std::string_view name() const override { return "counting"; }
  void begin(std::span<const int32_t>) override { ++calls; }
  void observe(const DraftFeedback&) override { ++calls; }
  void propose(const DraftRequest&, DraftTree&) override { ++calls; }
  void end() override { ++calls; }
  int calls = 0;
};

TEST(RequestSelector, ArmsNotChosenDoNoWork) {
  const auto model = tiny_model();
  Context ctx(model, {.n_ctx = 512, .n_threads = 1});
  CountingDrafter first, second;
  Speculator s;
  s.add(first, {.max_nodes = 4, .max_depth = 4, .adaptive_budget = false});
  s.add(second, {.max_nodes = 4, .max_depth = 4, .adaptive_budget = false});
  s.set_selector(make_request_selector({}));
  generate_with(ctx, greedy_params(), &s, random_prompt(20, 300, 1), 20);  // every arm once: the first
  EXPECT_GT(first.calls, 20);
  EXPECT_EQ(second.calls, 0) << "not begun, not told about steps, not ended";
  generate_with(ctx, greedy_params(), &s, random_prompt(20, 300, 2), 20);  // then the second
  EXPECT_GT(second.calls, 20);
}

TEST(RequestSelector, MethodStringsAndPolicies) {
  const DrafterRegistry registry = DrafterRegistry::with_builtin_methods();
  const MethodChoice c = registry.parse("auto:of=none/pld/aded:explore=0.5:top-k=4");
  ASSERT_EQ(c.members.size(), 3u);
  EXPECT_TRUE(c.members[0].plain());
  EXPECT_EQ(c.members[2].settings.integer("top-k"), 4);
  EXPECT_EQ(registry.parse("auto").members.size(), 3u) << "none/pld/aded by default";
  const std::vector<SettingValue> draft_flag = {{"model", "small.gguf", "--model-draft"}};
  const MethodChoice with_draft = registry.parse("auto", draft_flag);
  ASSERT_EQ(with_draft.members.size(), 4u) << "and the draft model when the run has one";
  EXPECT_EQ(with_draft.members[3].settings.text("model"), "small.gguf");
  EXPECT_EQ(registry.parse("auto:of=pld/aded", draft_flag).members.size(), 2u) << "of= as given";
  EXPECT_NE(spec_testing::input_error_of([&] { registry.parse("auto:of=none/select"); }).find("cannot be a member of a auto"),
            std::string::npos);
  EXPECT_NE(spec_testing::input_error_of([&] { registry.parse("select:of=none/pld"); }).find("'none' cannot be a member of a select"),
            std::string::npos);
  EXPECT_NE(spec_testing::input_error_of([&] { registry.parse("auto:explore=-1"); }).find("explore"), std::string::npos);

  // A policy learned for other arms, or with another table, is refused with both sides named.
  const auto dir = std::filesystem::temp_directory_path() / "aded_request_selector_test";
  std::filesystem::create_directories(dir);
  std::vector<SelectionLogRow> rows;
  for (const char* arm : {"none", "pld", "draft"}) rows.push_back({"p", "c", "", RequestFeatures{}, arm, 1.5});
  for (auto& r : rows) r.features.values[0] = 1;
  const auto policy_path = (dir / "policy.json").string();
  std::ofstream(policy_path) << selection_policy_json(train_selection_policy(rows));
  const auto model = tiny_model();
  DrafterEnvironment env(model.get());
  const std::string mismatch = spec_testing::input_error_of([&] {
    registry.make_speculator(registry.parse("auto:of=none/pld/aded:policy=" + policy_path), env);
  });
  EXPECT_NE(mismatch.find("learned for the arms none, pld, draft; this auto has none/pld/aded"), std::string::npos)
      << mismatch;
  // The same arms in another order are matched by method; the speculator's arms follow the policy.
  for (auto& r : rows)
    if (r.arm == "draft") r.arm = "aded";
  const auto same_path = (dir / "same.json").string();
  std::ofstream(same_path) << selection_policy_json(train_selection_policy(rows));
  const auto s = registry.make_speculator(registry.parse("auto:of=pld/aded/none:policy=" + same_path), env);
  ASSERT_EQ(s->arms(), 3);
  EXPECT_EQ(s->arm_name(0), "none");
  EXPECT_EQ(s->arm_name(2), "aded");
  EXPECT_NE(spec_testing::input_error_of([&] { registry.make_speculator(registry.parse("auto:of=none/pld/aded:ngram=x.tri:policy=" + same_path), env); })
                .find("x.tri"),
            std::string::npos)
      << "the table is opened (and named) before the policy is read";
  EXPECT_NE(spec_testing::input_error_of([&] {
              registry.make_speculator(registry.parse("auto:of=none/pld/draft:policy=" + policy_path), env);
            }).find("model"),
            std::string::npos)
      << "draft needs its model: the registry's own message";
  EXPECT_NE(spec_testing::input_error_of([&] {
              registry.make_speculator(registry.parse("auto:of=none/pld/aded:policy=" + (dir / "missing.json").string()), env);
            }).find("missing.json"),
            std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace aded
