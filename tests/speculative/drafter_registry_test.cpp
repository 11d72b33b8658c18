// DrafterRegistry: method strings (presets, settings, the order defaults < flags < string), every
// declared setting checked at its bounds whatever carried it, and methods registered by a caller.
#include <gtest/gtest.h>

#include <cmath>

#include "aded/drafter_registry.h"
#include "aded/error.h"
#include "speculative/method_settings.h"
#include "speculative/spec_support.h"

namespace aded {
namespace {

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

TEST(DrafterRegistry, ParsesMethodsPresetsAndSettings) {
  const DrafterRegistry r = DrafterRegistry::with_builtin_methods();
  EXPECT_EQ(r.method_names(), (std::vector<std::string>{"none", "pld", "aded", "oracle", "draft", "self", "union", "select", "auto"}));
  const MethodChoice none = r.parse("none");
  EXPECT_TRUE(none.plain());
  const MethodChoice aded = r.parse("aded");
  EXPECT_EQ(aded.limits.max_nodes, 16);
  EXPECT_EQ(aded.limits.max_depth, 32);
  EXPECT_TRUE(aded.limits.adaptive_budget);
  EXPECT_EQ(aded.settings.text("search"), "best-first");
  EXPECT_FALSE(aded.settings.given("search"));
  const MethodChoice paper = r.parse("aded:paper:max=8:budget=fixed");
  EXPECT_EQ(paper.settings.text("search"), "mcts");
  EXPECT_TRUE(paper.settings.on("overlay"));
  EXPECT_EQ(paper.settings.integer("context"), 0);
  EXPECT_EQ(paper.limits.max_nodes, 8);
  EXPECT_FALSE(paper.limits.adaptive_budget);
  EXPECT_TRUE(paper.settings.given("search"));
  // Later items win; a switch accepts on/off, true/false, 1/0.
  EXPECT_EQ(r.parse("aded:paper:search=best-first").settings.text("search"), "best-first");
  EXPECT_FALSE(r.parse("aded:adapt=false").settings.on("adapt"));
  EXPECT_TRUE(r.parse("aded:adapt=1").settings.on("adapt"));
}

TEST(DrafterRegistry, FlagsAreDefaultsTheMethodStringOverrides) {
  const DrafterRegistry r = DrafterRegistry::with_builtin_methods();
  const std::vector<SettingValue> flags = {{"max", "4", "--draft-max"}, {"search", "mcts", "--aded-search"}};
  EXPECT_EQ(r.parse("pld", flags).limits.max_nodes, 4);
  EXPECT_EQ(r.parse("aded", flags).settings.text("search"), "mcts");
  EXPECT_EQ(r.parse("aded:search=best-first:max=12", flags).settings.text("search"), "best-first");
  EXPECT_EQ(r.parse("aded:search=best-first:max=12", flags).limits.max_nodes, 12);
  // A flag of another method's setting is still checked, though unused.
  const std::vector<SettingValue> bad_top_k = {{"top-k", "-1", "--ngram-top-k"}};
  EXPECT_NE(message_of([&] { r.parse("pld", bad_top_k); }).find("--ngram-top-k: top-k must be an integer from 0 to 1024, not '-1'"),
            std::string::npos);
  const std::vector<SettingValue> unknown = {{"colour", "red", "--colour"}};
  EXPECT_NE(message_of([&] { r.parse("pld", unknown); }).find("no method has a setting 'colour'"), std::string::npos);
}

TEST(DrafterRegistry, BadStringsNameWhatIsWrong) {
  const DrafterRegistry r = DrafterRegistry::with_builtin_methods();
  EXPECT_NE(message_of([&] { r.parse("xyz"); }).find("unknown speculative method 'xyz' (known: none, pld, aded, oracle, draft, self, union, select, auto)"),
            std::string::npos);
  EXPECT_NE(message_of([&] { r.parse("aded:foo=1"); }).find("unknown setting 'foo'"), std::string::npos);
  EXPECT_NE(message_of([&] { r.parse("aded:papr"); }).find("neither key=value nor a preset of aded (paper)"),
            std::string::npos);
  EXPECT_NE(message_of([&] { r.parse("pld:paper"); }).find("(it has none)"), std::string::npos);
  EXPECT_NE(message_of([&] { r.parse("pld:max=2147483647"); })
                .find("method 'pld:max=2147483647': max must be an integer from 0 to 256, not '2147483647'"),
            std::string::npos);
  EXPECT_NE(message_of([&] { r.parse("none:max=1000"); }).find("max must be"), std::string::npos);
  EXPECT_NE(message_of([&] { r.parse("aded:search=bfs"); }).find("search must be one of best-first|mcts, not 'bfs'"),
            std::string::npos);
  // A setting given twice in one string was taken without a word (which one wins?).
  EXPECT_NE(message_of([&] { r.parse("aded:max=1:max=2"); }).find("method 'aded:max=1:max=2': 'max' is given twice"),
            std::string::npos);
  EXPECT_NO_THROW(r.parse("aded:paper:max=8"));  // a preset's value overridden by a setting is fine
  // An empty text is "none": aded:ngram= drafts without a table even when --ngram names one.
  const std::vector<SettingValue> table = {{"ngram", "t.tri", "--ngram"}};
  EXPECT_EQ(r.parse("aded:ngram=", table).settings.text("ngram"), "");
}

// Every integer setting of every method: its bounds are accepted, one past them, non-numbers,
// empty values, signs and trailing garbage are refused, through a method string and a flag alike.
TEST(DrafterRegistry, EveryIntegerSettingIsCheckedAtItsBounds) {
  const DrafterRegistry r = DrafterRegistry::with_builtin_methods();
  int checked = 0;
  for (const std::string method : {"pld", "aded", "oracle", "draft", "self"}) {
    for (const SettingSpec& s : r.all_settings()) {
      if (s.kind != SettingSpec::Kind::Integer) continue;
      const MethodChoice probe = r.parse(method);
      bool has = true;
      try {
        probe.settings.integer(s.key);
      } catch (const Error&) {
        has = false;
      }
      if (!has) continue;
      const auto with = [&](const std::string& v) { return method + ":" + s.key + "=" + v; };
      EXPECT_EQ(r.parse(with(std::to_string(s.min))).settings.integer(s.key), s.min) << with(std::to_string(s.min));
      EXPECT_EQ(r.parse(with(std::to_string(s.max))).settings.integer(s.key), s.max) << with(std::to_string(s.max));
      for (const std::string& bad : {std::to_string(s.min - 1), std::to_string(s.max + 1), std::string(""), std::string("x"),
                                    std::string("3x"), std::string("1e3"), std::string("99999999999999999999"),
                                    std::string(" 1")}) {
        EXPECT_THROW(r.parse(with(bad)), InputError) << with(bad);
        const std::vector<SettingValue> flag = {{s.key, bad, "--flag"}};
        EXPECT_THROW(r.parse(method, flag), InputError) << s.key << " flag " << bad;
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 18) << "pld 5, aded 6, oracle 2, draft 3, self 2";
}

// A caller's own method (a test, later a draft model): real settings refuse NaN and infinity.
TEST(DrafterRegistry, RegisteredMethodsAndRealSettings) {
  DrafterRegistry r = DrafterRegistry::with_builtin_methods();
  DrafterMethod m;
  m.name = "echo";
  m.summary = "test";
  m.settings = {real_setting("threshold", 0, 1, 0.5, "a probability")};
  m.create = [](const MethodSettings& s, DrafterEnvironment&) {
    EXPECT_DOUBLE_EQ(s.real("threshold"), 0.25);
    return make_prompt_lookup_drafter();
  };
  r.add(m);
  EXPECT_THROW(r.add(m), Error) << "a name is registered once";
  for (const std::string bad : {"nan", "inf", "-inf", "1.5", "-0.1", "", "0.5x"})
    EXPECT_THROW(r.parse("echo:threshold=" + bad), InputError) << bad;
  DrafterEnvironment env;
  const MethodChoice c = r.parse("echo:threshold=0.25");
  EXPECT_EQ(r.create(c, env)->name(), "pld");
  const auto speculator = r.make_speculator(c, env);
  ASSERT_TRUE(speculator);
  EXPECT_EQ(speculator->arms(), 1);
  EXPECT_EQ(speculator->arm_name(0), "echo:threshold=0.25");
  EXPECT_EQ(r.make_speculator(r.parse("none"), env), nullptr);
  EXPECT_NE(r.describe().find("echo: test"), std::string::npos);
}

TEST(DrafterRegistry, AdedNeedsATableWithoutAdaptation) {
  const DrafterRegistry r = DrafterRegistry::with_builtin_methods();
  DrafterEnvironment env;
  EXPECT_NE(message_of([&] { r.create(r.parse("aded:adapt=off"), env); }).find("needs a tri-gram table"), std::string::npos);
  EXPECT_NE(message_of([&] { r.create(r.parse("pld:ngram-min=4:ngram-max=2"), env); }).find("ngram-min (4) is above ngram-max (2)"),
            std::string::npos);
  // Two methods with shared=on share one overlay through the environment.
  r.create(r.parse("aded:shared=on"), env);
  const auto overlay = env.shared_overlay;
  ASSERT_TRUE(overlay);
  r.create(r.parse("aded:shared=on:overlay=on"), env);
  EXPECT_EQ(env.shared_overlay, overlay);
}

}  // namespace
}  // namespace aded
