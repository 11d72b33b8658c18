// Prompt lookup decoding (PLD). An index from every n-gram (n = min..max) of the context to the
// positions right after its occurrences is kept up to date as tokens arrive, so each proposal
// costs a few hash lookups. Continuations of the longest matching suffix come first; a trie merges
// them, so several distinct continuations become branches. A node's confidence is the share of
// matched continuations that pass through it, scaled by how long the matched suffix was.
#include <algorithm>
#include <unordered_map>
#include <vector>

#include "aded/drafter.h"
#include "aded/error.h"

namespace aded {

namespace {

class PromptLookupDrafter final : public Drafter {
 public:
  explicit PromptLookupDrafter(PromptLookupOptions o) : o_(o) {
    if (o_.min_ngram < 1 || o_.max_ngram < o_.min_ngram || o_.max_ngram > 8)
      fail("prompt lookup: n-gram sizes must satisfy 1 <= min <= max <= 8");
    if (o_.max_matches < 1) fail("prompt lookup: max_matches must be >= 1");
  }

  std::string_view name() const override { return "pld"; }
  bool can_shadow() const override { return true; }  // a lookup: cheap, and proposing changes nothing

  void begin(std::span<const int32_t> prompt) override {
    for (auto& index : index_) index.clear();
    next_ = 1;
    index_up_to(prompt);
  }

  void observe(const DraftFeedback& f) override { index_up_to(f.context); }

  void propose(const DraftRequest& r, DraftTree& out) override {
    const auto ctx = r.context;
    index_up_to(ctx);
    const size_t len = ctx.size();
    candidates_.clear();
    for (int n = std::min<int>(o_.max_ngram, static_cast<int>(len)); n >= o_.min_ngram; --n) {
      const auto& index = index_[static_cast<size_t>(n - 1)];
      auto it = index.find(key(ctx, len - static_cast<size_t>(n), n));
      if (it == index.end()) continue;
      const auto& positions = it->second;
      int taken = 0;
      for (auto p = positions.rbegin(); p != positions.rend() && taken < o_.max_matches; ++p, ++taken)
        candidates_.push_back({*p, n});
      if (static_cast<int>(candidates_.size()) >= o_.max_matches) break;
    }
    if (candidates_.empty()) return;
    // Merge continuations into the tree: count how many continuations pass through each node.
    counts_.clear();
    int total_weight = 0;
    for (const auto& c : candidates_) {
      int32_t parent = DraftTree::kRoot;
      const int weight = c.n;  // longer matched suffixes are more trustworthy
      total_weight += weight;
      for (int d = 0; d < r.max_depth && c.start + static_cast<size_t>(d) < len; ++d) {
        const int32_t token = ctx[c.start + static_cast<size_t>(d)];
        const int before = out.size();
        const int node = out.add(parent, token, 0.0f);
        if (node == before) counts_.push_back(0);
        counts_[static_cast<size_t>(node)] += weight;
        parent = node;
        if (out.size() >= kMaxScratchNodes) break;
      }
      if (out.size() >= kMaxScratchNodes) break;
    }
    // Confidence: share of the evidence through the node, decaying with depth.
    DraftTree scored;
    for (int i = 0; i < out.size(); ++i) {
      const float share = static_cast<float>(counts_[static_cast<size_t>(i)]) / static_cast<float>(total_weight);
      const float decay = 1.0f / (1.0f + 0.15f * static_cast<float>(out.depth(i) - 1));
      const int32_t p = out.parent(i);
      const float parent_conf = p == DraftTree::kRoot ? 1.0f : scored.confidence(p);
      scored.add(p, out.token(i), std::min(parent_conf, share * decay));
    }
    scored.sort_by_confidence();
    scored.truncate(r.max_nodes);
    out = std::move(scored);
  }

 private:
  static constexpr int kMaxScratchNodes = 512;
  struct Candidate {
    size_t start;  // first token of the continuation
    int n;
  };

  static uint64_t key(std::span<const int32_t> t, size_t at, int n) {
    uint64_t h = static_cast<uint64_t>(n);
    for (int i = 0; i < n; ++i) h = h * 0x9E3779B97F4A7C15ull + static_cast<uint32_t>(t[at + static_cast<size_t>(i)]) + 1;
    return h;
  }

  // Records every position p (1 <= p < size) under each n-gram ctx[p-n, p) that precedes it, so
  // a lookup of an n-gram gives where its continuations start.
  void index_up_to(std::span<const int32_t> ctx) {
    for (size_t p = next_; p < ctx.size(); ++p) {
      for (int n = o_.min_ngram; n <= o_.max_ngram && static_cast<size_t>(n) <= p; ++n)
        index_[static_cast<size_t>(n - 1)][key(ctx, p - static_cast<size_t>(n), n)].push_back(p);
    }
    next_ = std::max(next_, ctx.size());
  }

  PromptLookupOptions o_;
  std::unordered_map<uint64_t, std::vector<size_t>> index_[8];
  size_t next_ = 1;
  std::vector<Candidate> candidates_;
  std::vector<int> counts_;
};

}  // namespace

std::unique_ptr<Drafter> make_prompt_lookup_drafter(PromptLookupOptions options) {
  return std::make_unique<PromptLookupDrafter>(options);
}

}  // namespace aded
