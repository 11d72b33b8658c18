#include "spec_options.h"

#include "aded/error.h"
#include "aded/trigram_table.h"
#include "common_options.h"

namespace aded::cli {

void add_spec_options(CLI::App& cmd, SpecFlags& f) {
  cmd.add_option("--spec", f.method, "speculative decoding: none, pld (prompt lookup) or aded (settings: see bench-spec)")
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

namespace {

int parse_int(const std::string& method, const std::string& key, const std::string& value) {
  try {
    size_t used = 0;
    const int v = std::stoi(value, &used);
    if (used == value.size()) return v;
  } catch (const std::exception&) {
  }
  fail("method '{}': {} needs an integer, not '{}'", method, key, value);
}

bool parse_bool(const std::string& method, const std::string& key, const std::string& value) {
  if (value == "1" || value == "on" || value == "true") return true;
  if (value == "0" || value == "off" || value == "false") return false;
  fail("method '{}': {} needs on or off, not '{}'", method, key, value);
}

}  // namespace

std::string apply_variant(const std::string& method, SpecFlags& f) {
  // "aded:search=best-first:adapt=off" -> base "aded" with those flags overridden.
  const auto colon = method.find(':');
  const std::string base = method.substr(0, colon);
  size_t at = colon;
  while (at != std::string::npos) {
    const size_t next = method.find(':', at + 1);
    const std::string item = method.substr(at + 1, next == std::string::npos ? std::string::npos : next - at - 1);
    const auto eq = item.find('=');
    if (eq == std::string::npos) fail("method '{}': '{}' should be key=value", method, item);
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "search" && (value == "mcts" || value == "best-first"))
      f.search = value;
    else if (key == "adapt")
      f.no_adapt = !parse_bool(method, key, value);
    else if (key == "shared")
      f.shared_overlay = parse_bool(method, key, value);
    else if (key == "top-k")
      f.ngram_top_k = parse_int(method, key, value);
    else if (key == "ngram")
      f.ngram = value;
    else if (key == "iterations")
      f.iterations = parse_int(method, key, value);
    else if (key == "search-depth")
      f.search_depth = parse_int(method, key, value);
    else if (key == "context")
      f.context_order = parse_int(method, key, value);
    else if (key == "overlay")
      f.overlay = parse_bool(method, key, value);
    else if (key == "depth")
      f.draft_depth = parse_int(method, key, value);
    else if (key == "max")
      f.draft_max = parse_int(method, key, value);
    else if (key == "budget" && (value == "fixed" || value == "adaptive"))
      f.fixed_budget = value == "fixed";
    else
      fail("method '{}': unknown setting '{}' (search, adapt, overlay, shared, top-k, ngram, iterations, search-depth, "
           "context, depth, max, budget)",
           method, item);
    at = next;
  }
  return base;
}

std::unique_ptr<Drafter> make_drafter(const std::string& spec, const SpecFlags& flags, const Model& model,
                                      std::shared_ptr<TrigramOverlay> shared_overlay) {
  SpecFlags f = flags;
  const std::string method = apply_variant(spec, f);
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
    o.context_order = f.context_order;
    o.overlay = f.overlay;
    if (!table && !o.adapt) fail("--spec aded needs a tri-gram table (--ngram) when adaptation is off");
    if (f.shared_overlay && !shared_overlay) shared_overlay = std::make_shared<TrigramOverlay>();
    return make_aded_drafter(table, o, f.shared_overlay ? shared_overlay : nullptr);
  }
  if (method == "oracle") fail("method 'oracle' drafts from the plain output of the same prompt: only bench-spec has that");
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
