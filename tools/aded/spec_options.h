// Flags that choose and configure speculative decoding (--spec ...), shared by run and bench-spec.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "aded/aded_drafter.h"
#include "aded/decoding.h"
#include "aded/drafter.h"
#include "aded/model.h"

namespace aded::cli {

struct SpecFlags {
  std::string method = "none";  // none | pld | aded
  std::string ngram;            // tri-gram table for aded
  int draft_max = 16;
  int draft_depth = 32;
  bool fixed_budget = false;
  int ngram_top_k = 0;
  std::string search = "best-first";  // best-first | mcts
  bool no_adapt = false;
  bool shared_overlay = false;
  int iterations = 150;
  int search_depth = 4;
  int context_order = 8;  // ADED context model order (0: tri-grams only, as the paper)
  bool overlay = false;   // ADED tri-gram overlay (the paper's adaptation)
};

void add_spec_options(CLI::App& cmd, SpecFlags& f);

// A method may carry settings: "aded:search=best-first:adapt=off:top-k=4". Applies them to f and
// returns the base method name; throws InputError for unknown settings.
std::string apply_variant(const std::string& method, SpecFlags& f);

// Builds the drafter the flags name for this model (nullptr for "none"); throws InputError for
// bad combinations (e.g. --spec aded without a table when one is required).
std::unique_ptr<Drafter> make_drafter(const std::string& method, const SpecFlags& f, const Model& model,
                                      std::shared_ptr<TrigramOverlay> shared_overlay = nullptr);
SpeculationOptions speculation_options(const SpecFlags& f, Drafter* drafter, BudgetController* budget = nullptr);

}  // namespace aded::cli
