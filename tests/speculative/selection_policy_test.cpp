// Request features, the policy's regression, and the log and policy files: what they hold, and
// that a bad or mismatched file is refused with its name and the problem.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "aded/error.h"
#include "aded/request_features.h"
#include "aded/selection_policy.h"
#include "speculative/spec_support.h"

namespace aded {
namespace {

// Indices of RequestFeatures::kNames.
constexpr size_t kTemperature = 1, kGreedy = 2, kLogTokens = 3, kRepetition = 4, kTableHit = 5, kGreedyRepetition = 7;

RequestFeatures features(double temperature, double repetition) {
  const double greedy = temperature > 0 ? 0 : 1;
  RequestFeatures x;
  x.values = {1, temperature, greedy, 0.5, repetition, 0.2, 0.5 * greedy, repetition * greedy, 0.2 * greedy};
  return x;
}

TEST(RequestFeatures, MeasureHowMuchThePromptRepeatsItself) {
  const auto repeating = spec_testing::repeating_prompt({5, 6, 7, 8, 9}, 20);
  const auto random = spec_testing::random_prompt(100, 30000, 4);
  const RequestFeatures r = request_features(repeating, 0, nullptr);
  const RequestFeatures n = request_features(random, 0.8, nullptr);
  ASSERT_EQ(RequestFeatures::kNames[kGreedyRepetition], "greedy_prompt_repetition");
  EXPECT_EQ(r.values[0], 1);
  EXPECT_GT(r.values[kRepetition], 0.9) << "each repeat is predicted by the one before";
  EXPECT_EQ(r.values[kGreedyRepetition], r.values[kRepetition]) << "greedy";
  EXPECT_EQ(n.values[kRepetition], 0) << "no 3 tokens repeat in 100 random ones of 30000";
  EXPECT_DOUBLE_EQ(n.values[kTemperature], 0.8);
  EXPECT_EQ(n.values[kGreedy], 0);
  EXPECT_EQ(r.values[kGreedy], 1);
  EXPECT_DOUBLE_EQ(r.values[kLogTokens], std::log2(1.0 + static_cast<double>(repeating.size())) / 12);
  EXPECT_EQ(r.values[kTableHit], 0) << "no table";
  EXPECT_EQ(request_features({}, 5.0, nullptr).values[kTemperature], 2) << "temperature capped";
  const RequestFeatures sampled_repeat = request_features(repeating, 0.8, nullptr);
  EXPECT_EQ(sampled_repeat.values[kGreedyRepetition], 0) << "sampled: the greedy slopes are off";
}

TEST(ArmModel, LearnsALinearRewardAndGrowsSureOfIt) {
  ArmModel m(1.0);
  const RequestFeatures greedy = features(0, 0.1), sampled = features(0.8, 0.1);
  EXPECT_DOUBLE_EQ(m.mean(greedy), 1) << "no observation: plain decoding's speed";
  const double wide = m.uncertainty(greedy);
  for (int i = 0; i < 200; ++i) {
    const RequestFeatures x = features(i % 2 ? 0.8 : 0.0, 0.05 * (i % 7));
    m.add(x, 2.5 - 1.5 * x.values[kTemperature] + 0.4 * x.values[kRepetition]);
  }
  EXPECT_NEAR(m.mean(greedy), 2.54, 0.05);
  EXPECT_NEAR(m.mean(sampled), 1.34, 0.05);
  EXPECT_LT(m.uncertainty(greedy), wide / 5);
  EXPECT_EQ(m.observations(), 200);
}

std::vector<SelectionLogRow> two_arm_log() {
  // "aded" wins greedy, "draft" wins at 0.8.
  std::vector<SelectionLogRow> rows;
  for (int p = 0; p < 20; ++p)
    for (double t : {0.0, 0.8}) {
      const RequestFeatures x = features(t, 0.01 * p);
      const std::string id = fmt::format("p{}", p);
      rows.push_back({id, "code", "python.tri", x, "aded", t > 0 ? 1.1 : 2.2});
      rows.push_back({id, "code", "python.tri", x, "draft", t > 0 ? 1.4 : 1.6});
      rows.push_back({id, "code", "python.tri", x, "none", 1.0});
    }
  return rows;
}

TEST(SelectionPolicy, PicksTheArmThatWinsForTheRequest) {
  const auto rows = two_arm_log();
  const SelectionPolicy p = train_selection_policy(rows);
  ASSERT_EQ(p.arms, (std::vector<std::string>{"aded", "draft", "none"}));
  EXPECT_EQ(p.table, "python.tri");
  EXPECT_EQ(p.arms[static_cast<size_t>(p.choose(features(0, 0.1), 0))], "aded");
  EXPECT_EQ(p.arms[static_cast<size_t>(p.choose(features(0.8, 0.1), 0))], "draft");
  const PolicyEvaluation e = evaluate_selection_policy(p, rows);
  EXPECT_EQ(e.requests, 40u);
  EXPECT_EQ(e.picked_best, 40u);
  EXPECT_DOUBLE_EQ(e.policy, e.oracle);
  EXPECT_DOUBLE_EQ(e.oracle, (2.2 + 1.4) / 2);
  EXPECT_EQ(e.best_single_arm, "aded");
  EXPECT_DOUBLE_EQ(e.best_single, (2.2 + 1.1) / 2);
}

TEST(SelectionPolicy, RefusesLogsItCannotLearnFrom) {
  EXPECT_NE(spec_testing::input_error_of([] { train_selection_policy({}); }).find("no log rows"), std::string::npos);
  auto rows = two_arm_log();
  rows[5].table = "other.tri";
  EXPECT_NE(spec_testing::input_error_of([&] { train_selection_policy(rows); }).find("mixes features read with the table"),
            std::string::npos);
  std::vector<SelectionLogRow> one = {two_arm_log()[0]};
  EXPECT_NE(spec_testing::input_error_of([&] { train_selection_policy(one); }).find("a choice needs two"), std::string::npos);
}

TEST(SelectionPolicy, FileRoundTrip) {
  const SelectionPolicy p = train_selection_policy(two_arm_log());
  const SelectionPolicy q = parse_selection_policy(selection_policy_json(p), "p.json");
  ASSERT_EQ(q.arms, p.arms);
  EXPECT_EQ(q.table, p.table);
  for (size_t a = 0; a < p.arms.size(); ++a) {
    EXPECT_EQ(q.models[a].a(), p.models[a].a());
    EXPECT_EQ(q.models[a].b(), p.models[a].b());
    EXPECT_EQ(q.models[a].observations(), p.models[a].observations());
  }
}

TEST(SelectionPolicy, ABadOrMismatchedFileIsRefusedClearly) {
  const std::string good = selection_policy_json(train_selection_policy(two_arm_log()));
  const auto edited = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json j = nlohmann::json::parse(good);
    edit(j);
    return spec_testing::input_error_of([&] { parse_selection_policy(j.dump(), "p.json"); });
  };
  EXPECT_NE(spec_testing::input_error_of([] { parse_selection_policy("{", "p.json"); }).find("p.json: not a selection policy"),
            std::string::npos);
  EXPECT_NE(spec_testing::input_error_of([] { parse_selection_policy("{\"format\":\"x\"}", "p.json"); }).find("not a selection policy"),
            std::string::npos);
  EXPECT_NE(edited([](auto& j) { j["version"] = 2; }).find("version 2 of the a selection policy format; this aded reads version 1"),
            std::string::npos);
  EXPECT_NE(edited([](auto& j) { j["features"][3] = "prompt_length"; }).find("learn it again with 'aded select train'"),
            std::string::npos);
  EXPECT_NE(edited([](auto& j) { j["arms"][1]["method"] = "aded"; }).find("'aded' is an arm twice"), std::string::npos);
  EXPECT_NE(edited([](auto& j) { j["arms"][0]["a"][0][0] = -1.0; }).find("arm 1: selection policy: A is not"),
            std::string::npos);
  EXPECT_NE(edited([](auto& j) { j["arms"][0]["a"][0][1] = 7.0; }).find("not symmetric"), std::string::npos);
  EXPECT_NE(edited([](auto& j) { j["arms"][2]["b"].erase(0); }).find("arm 3: \"b\" must be 9 numbers"),
            std::string::npos);
  EXPECT_NE(edited([](auto& j) { j["arms"].erase(1); j["arms"].erase(1); }).find("2 to 64 arms"), std::string::npos);
  EXPECT_NE(edited([](auto& j) { j.erase("table"); }).find("no \"table\""), std::string::npos);
}

TEST(SelectionLog, RoundTripAndErrorsNameTheLine) {
  const auto rows = two_arm_log();
  std::string text;
  for (const auto& r : rows) text += selection_log_line(r);
  const auto back = parse_selection_log(text, "log.jsonl");
  ASSERT_EQ(back.size(), rows.size());
  EXPECT_EQ(back[3].arm, rows[3].arm);
  EXPECT_EQ(back[3].reward, rows[3].reward);
  EXPECT_EQ(back[3].features.values, rows[3].features.values);
  EXPECT_EQ(back[3].prompt, rows[3].prompt);
  nlohmann::json j = nlohmann::json::parse(selection_log_line(rows[0]));
  j["features"]["table_hits"] = j["features"]["table_hit"];
  j["features"].erase("table_hit");
  EXPECT_NE(spec_testing::input_error_of([&] { parse_selection_log(selection_log_line(rows[0]) + "\n" + j.dump(), "log.jsonl"); })
                .find("log.jsonl: line 3: feature \"table_hit\" missing"),
            std::string::npos);
  j = nlohmann::json::parse(selection_log_line(rows[0]));
  j["reward"] = "fast";
  EXPECT_NE(spec_testing::input_error_of([&] { parse_selection_log(j.dump(), "log.jsonl"); }).find("line 1: \"reward\": expected a number"),
            std::string::npos);
  EXPECT_NE(spec_testing::input_error_of([] { parse_selection_log("[1]", "log.jsonl"); }).find("expected a JSON object"), std::string::npos);
  EXPECT_NE(spec_testing::input_error_of([] { parse_selection_log("{\"format\":\"aded-select-log\",\"version\":0}", "log.jsonl"); })
                .find("version 0"),
            std::string::npos);
}

}  // namespace
}  // namespace aded
