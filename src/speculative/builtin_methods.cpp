// The methods every registry starts with: their settings (ranges, defaults, flags) and how each
// builds its drafter.
#include "aded/aded_drafter.h"
#include "aded/drafter_registry.h"
#include "aded/error.h"
#include "aded/oracle_drafter.h"
#include "speculative/auto_method.h"
#include "speculative/context_model.h"
#include "speculative/method_settings.h"
#include "speculative/model_methods.h"

namespace aded {

namespace {

DrafterMethod prompt_lookup_method() {
  DrafterMethod m;
  m.name = "pld";
  m.summary = "prompt lookup: continuations of the longest n-gram of the context seen earlier in it";
  m.settings = {integer_setting("ngram-max", 1, 8, 3, "longest n-gram looked up"),
                integer_setting("ngram-min", 1, 8, 1, "shortest n-gram looked up"),
                integer_setting("matches", 1, 64, 8, "most recent occurrences used per n-gram")};
  m.create = [](const MethodSettings& s, DrafterEnvironment&) {
    PromptLookupOptions o;
    o.max_ngram = s.integer("ngram-max");
    o.min_ngram = s.integer("ngram-min");
    o.max_matches = s.integer("matches");
    if (o.min_ngram > o.max_ngram) fail("method pld: ngram-min ({}) is above ngram-max ({})", o.min_ngram, o.max_ngram);
    return make_prompt_lookup_drafter(o);
  };
  return m;
}

DrafterMethod aded_method() {
  DrafterMethod m;
  m.name = "aded";
  m.summary = "ADED: a tri-gram table adapted to the text being written, searched for a tree of drafts";
  SettingSpec adapt = switch_setting("adapt", true, "adapt to the text being written (off: the static table only)");
  adapt.flag = "--no-adapt";
  adapt.flag_value = "off";
  SettingSpec shared = switch_setting("shared", false, "one overlay adapted across requests");
  shared.flag = "--shared-overlay";
  shared.flag_value = "on";
  m.settings = {
      file_setting("ngram", "tri-gram table (from 'aded ngram build')", "--ngram"),
      integer_setting("top-k", 0, 1024, 0, "successors per pair used from the table (0: all it holds)", "--ngram-top-k"),
      choice_setting("search", {"best-first", "mcts"}, "best-first", "search for the tree", "--aded-search"),
      adapt,
      switch_setting("overlay", false, "the paper's adaptation: boosts of the context's tri-grams"),
      shared,
      integer_setting("context", 0, ContextModel::kMaxOrder, 8,
                      "longest suffix of the context whose earlier continuations are drafted (0: none)"),
      integer_setting("iterations", 1, 100000, 150, "MCTS iterations", "--mcts-iterations"),
      integer_setting("search-depth", 1, 64, 4, "depth MCTS explores", "--search-depth"),
  };
  // The drafter as the paper publishes it: MCTS (PUCT) over the table adapted by the overlay,
  // without the context model (docs/benchmarks.md measures it against the default).
  m.presets["paper"] = {{"search", "mcts"}, {"overlay", "on"}, {"context", "0"}};
  m.create = [](const MethodSettings& s, DrafterEnvironment& env) {
    std::shared_ptr<const TrigramTable> table;
    if (!s.text("ngram").empty()) table = env.table(s.text("ngram"), s.integer("top-k"));
    AdedOptions o;
    o.adapt = s.on("adapt");
    o.overlay = s.on("overlay");
    o.context_order = s.integer("context");
    o.search = s.text("search") == "mcts" ? AdedSearch::Mcts : AdedSearch::BestFirst;
    o.iterations = s.integer("iterations");
    o.search_depth = s.integer("search-depth");
    if (!table && !o.adapt) fail("method aded needs a tri-gram table (--ngram or ngram=) when adaptation is off");
    std::shared_ptr<TrigramOverlay> overlay;
    if (s.on("shared")) {
      if (!env.shared_overlay) env.shared_overlay = std::make_shared<TrigramOverlay>();
      overlay = env.shared_overlay;
    }
    return make_aded_drafter(table, o, overlay);
  };
  return m;
}

DrafterMethod oracle_method() {
  DrafterMethod m;
  m.name = "oracle";
  m.summary = "bench-spec only: drafts the plain output itself (a perfect drafter: the ceiling verification allows)";
  m.create = [](const MethodSettings&, DrafterEnvironment& env) {
    if (!env.reference) fail("method 'oracle' drafts from the plain output of the same prompt: only bench-spec has that");
    return make_oracle_drafter(env.reference);
  };
  return m;
}

}  // namespace

// Its members are parsed and made by the registry itself (DrafterRegistry::parse_union).
DrafterMethod union_method() {
  DrafterMethod m;
  m.name = "union";
  m.summary =
      "one tree from several drafters, nodes chosen by each member's calibrated acceptance; other "
      "settings go to the members that have them (union:of=aded/draft:model=D.gguf)";
  SettingSpec of = text_setting("of", "the members, '/' between them");
  of.default_value = "aded/draft";
  // 0.7: the best of 0.5 / 0.7 / 0.9 for ADED and the aligned draft model on the code target
  // (docs/benchmarks.md), each well above asking every step.
  m.settings = {of, real_setting("ask-below", 0, 1, 0.7,
                                 "members after the first draft only when the first one's best node is "
                                 "accepted with at most this (calibrated) probability; 1: every step")};
  m.create = [](const MethodSettings&, DrafterEnvironment&) -> std::unique_ptr<Drafter> {
    fail("union: made from its members (DrafterRegistry::create)");
  };
  return m;
}

// Its members become the arms of one speculator (DrafterRegistry::make_speculator).
DrafterMethod select_method() {
  DrafterMethod m;
  m.name = "select";
  m.summary =
      "the drafter chosen per step, online, by the tokens per second each gives (n-gram members are "
      "scored every step on the text that followed); settings go to the members that have them "
      "(select:of=pld/aded/draft:model=D.gguf)";
  SettingSpec of = text_setting("of", "the members, '/' between them");
  of.default_value = "pld/aded";
  m.settings = {of,
                real_setting("discount", 0.5, 1.0, 0.95, "weight of a step's score per later step"),
                integer_setting("retry-every", 1, 1 << 20, 64,
                                "steps between tries of a member that is not the best and cannot be scored aside")};
  m.create = [](const MethodSettings&, DrafterEnvironment&) -> std::unique_ptr<Drafter> {
    fail("select: made from its members (DrafterRegistry::make_speculator)");
  };
  return m;
}

DrafterRegistry DrafterRegistry::with_builtin_methods() {
  DrafterRegistry r;
  r.add(prompt_lookup_method());
  r.add(aded_method());
  r.add(oracle_method());
  r.add(draft_model_method());
  r.add(self_draft_method());
  r.add(union_method());
  r.add(select_method());
  r.add(auto_method());
  return r;
}

}  // namespace aded
