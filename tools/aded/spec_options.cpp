#include "spec_options.h"

#include "aded/error.h"
#include "aded/trigram_table.h"
#include "common_options.h"

namespace aded::cli {

void add_spec_options(CLI::App& cmd, SpecFlags& f) {
  cmd.add_option("--spec", f.method, "speculative decoding: none, pld (prompt lookup) or aded")
      ->check(CLI::IsMember({"none", "pld", "aded"}))
      ->capture_default_str();
  cmd.add_option("--ngram", f.ngram, "tri-gram table for --spec aded (from 'aded ngram build')");
  cmd.add_option("--draft-max", f.draft_max, "most draft tokens verified per step")->check(int_range(0, 256))->capture_default_str();
  cmd.add_option("--draft-depth", f.draft_depth, "deepest draft token")->check(int_range(1, 64))->capture_default_str();
  cmd.add_flag("--fixed-budget", f.fixed_budget, "always verify the whole draft (no cost-aware budget)");
  cmd.add_option("--ngram-top-k", f.ngram_top_k, "successors per pair used from the table (0: all it holds)")
      ->check(int_range(0, 1024));
  cmd.add_option("--aded-search", f.search, "ADED search: mcts or best-first")
      ->check(CLI::IsMember({"mcts", "best-first"}))
      ->capture_default_str();
  cmd.add_flag("--no-adapt", f.no_adapt, "ADED: no online adaptation (static table only)");
  cmd.add_flag("--shared-overlay", f.shared_overlay, "ADED: adapt one overlay across requests");
  cmd.add_option("--mcts-iterations", f.iterations, "ADED: MCTS iterations")->check(int_range(1, 100000))->capture_default_str();
  cmd.add_option("--search-depth", f.search_depth, "ADED: depth MCTS explores")->check(int_range(1, 64))->capture_default_str();
}

std::unique_ptr<Drafter> make_drafter(const std::string& method, const SpecFlags& f, const Model& model,
                                      std::shared_ptr<TrigramOverlay> shared_overlay) {
  if (method == "none") return nullptr;
  if (method == "pld") return make_prompt_lookup_drafter();
  if (method == "aded") {
    std::shared_ptr<const TrigramTable> table;
    if (!f.ngram.empty()) table = TrigramTable::open(f.ngram, &model.tokenizer().vocab(), f.ngram_top_k);
    AdedOptions o;
    o.adapt = !f.no_adapt;
    o.search = f.search == "best-first" ? AdedSearch::BestFirst : AdedSearch::Mcts;
    o.iterations = f.iterations;
    o.search_depth = f.search_depth;
    if (!table && !o.adapt) fail("--spec aded needs a tri-gram table (--ngram) when adaptation is off");
    if (f.shared_overlay && !shared_overlay) shared_overlay = std::make_shared<TrigramOverlay>();
    return make_aded_drafter(table, o, f.shared_overlay ? shared_overlay : nullptr);
  }
  fail("unknown speculative method '{}' (use none, pld or aded)", method);
}

SpeculationOptions speculation_options(const SpecFlags& f, Drafter* drafter, BudgetController* budget) {
  SpeculationOptions s;
  s.drafter = drafter;
  s.budget = budget;
  s.max_nodes = f.draft_max;
  s.max_depth = f.draft_depth;
  s.adaptive_budget = !f.fixed_budget;
  return s;
}

}  // namespace aded::cli
