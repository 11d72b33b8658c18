// The ADED drafter (../shared/docs/ADED.md). Successors of a state come from the static tri-gram
// table, adapted to the text being written; the tree is searched for the drafts most likely
// accepted. By default the adaptation is a context model (what followed earlier occurrences of
// the longest suffix of the history in this request, with calibrated probabilities) and the search
// is best-first by joint path probability (code15M on HumanEval: best-first 1.80x against MCTS's
// 1.48x, and 1.03x without the context model; docs/benchmarks.md). The configuration the paper publishes, an overlay of boosted
// tri-grams of the context searched by Monte-Carlo tree search with the PUCT rule, is the method
// string aded:paper (AdedOptions: search = Mcts, overlay = true, context_order = 0).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "aded/drafter.h"
#include "aded/trigram_table.h"

namespace aded {

// Boosts score[(a, b)][c] learned online (../shared/docs/ADED.md section 2). Thread-safe.
class TrigramOverlay {
 public:
  struct Entry {
    int32_t token;
    float boost;
  };
  void add(int32_t a, int32_t b, int32_t c, float step, float cap);
  // Appends the boosts of (a, b) to out (token, boost).
  void find(int32_t a, int32_t b, std::vector<Entry>& out) const;
  void clear();
  size_t keys() const;

 private:
  static uint64_t key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  mutable std::mutex mutex_;
  std::unordered_map<uint64_t, std::vector<Entry>> map_;
};

enum class AdedSearch { Mcts, BestFirst };

struct AdedOptions {
  // Online adaptation to the text being written; off: the static table only.
  bool adapt = true;
  // The paper's adaptation: boosts of the tri-grams of the context in an overlay (authors:
  // window 16, step 0.04, cap 3.0). Off by default: with the context model it lowered the
  // speedup on HumanEval (docs/benchmarks.md); aded:overlay=on restores it.
  bool overlay = false;
  int window = 16;
  float boost_step = 0.04f;
  float boost_cap = 3.0f;
  // Beyond the paper: continuations of the longest suffix (up to this many tokens) of a state's
  // history seen earlier in the request, with calibrated probabilities (0: tri-grams only).
  int context_order = 8;
  // Search.
  // Best-first by default: the same acceptance as MCTS at a tenth of the drafting time on
  // HumanEval (docs/benchmarks.md); aded:search=mcts is the paper's search.
  AdedSearch search = AdedSearch::BestFirst;
  int iterations = 150;   // MCTS iterations (authors: 150)
  float c1 = 32.0f;       // PUCT constants (authors: c1 = 32, first release 1.814; c2 = 8)
  float c2 = 8.0f;
  int search_depth = 4;   // states below the root the search explores (authors: 4)
  int rollout_depth = 4;  // rollouts sample down to this depth (authors: 4)
  int top_paths = 24;     // paths kept by visit count (authors: 24)
  int branching = 8;      // successors considered per state by best-first
  uint64_t seed = 0x5eed;
};

// table: the static tri-gram table (may be null: adaptation only). shared: a cross-request
// overlay that every request adapts and reads (null: per-request overlays only).
std::unique_ptr<Drafter> make_aded_drafter(std::shared_ptr<const TrigramTable> table, AdedOptions options,
                                           std::shared_ptr<TrigramOverlay> shared = nullptr);

}  // namespace aded
