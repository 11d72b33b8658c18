// ADED drafting (../shared/docs/ADED.md sections 2-3). The search runs over states (a, b) = the last two
// tokens of a path; a state's successors are the static table's top-k for (a, b) plus the
// overlay's boosts, normalized to probabilities. Per proposal, merged successor lists are cached
// and the search tree lives in reused buffers: no allocation per node.
#include <algorithm>
#include <array>
#include <cmath>
#include <queue>
#include <unordered_map>

#include "aded/aded_drafter.h"
#include "aded/error.h"
#include "speculative/context_model.h"

namespace aded {

namespace {

struct Successor {
  int32_t token;
  float p;
};

// The last tokens of a search state's history (context, then the path), oldest first.
struct Tail {
  std::array<int32_t, ContextModel::kMaxOrder> t{};
  int n = 0;
  Tail then(int32_t token) const {
    Tail r;
    const int keep = std::min(n, ContextModel::kMaxOrder - 1);
    std::copy(t.begin() + (n - keep), t.begin() + n, r.t.begin());
    r.t[static_cast<size_t>(keep)] = token;
    r.n = keep + 1;
    return r;
  }
  std::span<const int32_t> tokens() const { return {t.data(), static_cast<size_t>(n)}; }
  int32_t last() const { return t[static_cast<size_t>(n - 1)]; }
  int32_t before_last() const { return n >= 2 ? t[static_cast<size_t>(n - 2)] : -1; }
  uint64_t key() const {
    uint64_t h = static_cast<uint64_t>(n);
    for (int i = 0; i < n; ++i) h = (h ^ static_cast<uint32_t>(t[static_cast<size_t>(i)])) * 0x100000001B3ull + 0x9E3779B97F4A7C15ull;
    return h;
  }
  static Tail of(std::span<const int32_t> context) {
    Tail r;
    r.n = static_cast<int>(std::min<size_t>(context.size(), ContextModel::kMaxOrder));
    std::copy(context.end() - r.n, context.end(), r.t.begin());
    return r;
  }
};

class AdedDrafter final : public Drafter {
 public:
  AdedDrafter(std::shared_ptr<const TrigramTable> table, AdedOptions o, std::shared_ptr<TrigramOverlay> shared)
      : table_(std::move(table)), o_(o), shared_(std::move(shared)), context_(std::max(1, o.context_order)),
        rng_(o.seed | 1) {
    if (o_.window < 3) fail("ADED: the adaptation window must be >= 3 tokens");
    if (o_.context_order < 0 || o_.context_order > ContextModel::kMaxOrder)
      fail("ADED: the context order must be 0..{}", ContextModel::kMaxOrder);
    if (o_.iterations < 1 || o_.search_depth < 1 || o_.rollout_depth < 1 || o_.top_paths < 1 || o_.branching < 1)
      fail("ADED: search parameters must be positive");
    if (!(o_.c2 > 0)) fail("ADED: c2 must be > 0");
  }

  std::string_view name() const override { return "aded"; }
  // A search over tables: cheap, and proposing changes nothing but the random state of its rollouts.
  bool can_shadow() const override { return true; }

  void begin(std::span<const int32_t> prompt) override {
    request_.clear();
    context_.reset();
    adapted_ = 0;
    adapt(prompt);
  }

  void observe(const DraftFeedback& f) override { adapt(f.context); }

  void propose(const DraftRequest& r, DraftTree& out) override {
    if (r.context.size() < 2 || r.max_nodes < 1) return;
    cache_.clear();
    pool_.clear();
    const Tail root = Tail::of(r.context);
    const int depth = std::max(1, r.max_depth);
    if (o_.search == AdedSearch::Mcts)
      mcts(root, r.max_nodes, depth, out);
    else
      best_first(root, r.max_nodes, depth, out);
  }

 private:
  struct CachedList {
    uint32_t start, size;
  };
  struct Node {
    Tail state;           // history ending in this node's token
    int32_t parent;       // index in nodes_, -1 for the root
    int32_t first_child;  // children are contiguous
    int32_t n_children;
    int32_t depth;
    float prior;
    float value;  // total reward
    int32_t visits;
    bool expanded;
  };

  // ------------------------------------------------------------------ adaptation (section 2)

  TrigramOverlay& overlay() { return shared_ ? *shared_ : request_; }
  bool uses_overlay() const { return o_.adapt && o_.overlay; }
  bool uses_context() const { return o_.adapt && o_.context_order > 0; }

  // Boosts every tri-gram inside the window ending at each newly seen token, as if the tokens had
  // arrived one per step.
  void adapt(std::span<const int32_t> context) {
    if (uses_context()) context_.extend(context);
    if (!uses_overlay()) {
      adapted_ = context.size();
      return;
    }
    for (size_t t = adapted_; t < context.size(); ++t) {
      const size_t begin = t + 1 >= static_cast<size_t>(o_.window) ? t + 1 - static_cast<size_t>(o_.window) : 0;
      for (size_t i = begin; i + 2 <= t; ++i)
        overlay().add(context[i], context[i + 1], context[i + 2], o_.boost_step, o_.boost_cap);
    }
    adapted_ = std::max(adapted_, context.size());
  }

  // ------------------------------------------------------------------------------- successors

  // Successors of a state, most probable first: the tri-gram distribution of its last two tokens
  // (static table + overlay), mixed with the context model's continuations of its longest
  // matching suffix, which take their calibrated share first.
  std::span<const Successor> successors(const Tail& state) {
    const uint64_t key = uses_context() ? state.key() : pair_key(state.before_last(), state.last());
    auto [it, inserted] = cache_.try_emplace(key, CachedList{0, 0});
    if (inserted) it->second = uses_context() ? mix(state) : merge(state.before_last(), state.last());
    return {pool_.data() + it->second.start, it->second.size};
  }

  static uint64_t pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }

  CachedList mix(const Tail& state) {
    const CachedList tri = merge(state.before_last(), state.last());
    const ContextModel::Prediction p = context_.predict(state.tokens());
    if (p.order == 0) return tri;
    const auto start = static_cast<uint32_t>(pool_.size());
    float mass = 0;
    for (int i = 0; i < p.size; ++i) {
      pool_.push_back({p.tokens[static_cast<size_t>(i)], p.p[static_cast<size_t>(i)]});
      mass += p.p[static_cast<size_t>(i)];
    }
    const float rest = 1.0f - mass;
    for (uint32_t j = tri.start; j < tri.start + tri.size; ++j) {
      const Successor s = pool_[j];
      bool found = false;
      for (size_t i = start; i < pool_.size(); ++i) {
        if (pool_[i].token == s.token) {
          pool_[i].p += rest * s.p;
          found = true;
          break;
        }
      }
      if (!found) pool_.push_back({s.token, rest * s.p});
    }
    sort_by_probability(start);
    constexpr size_t kMaxSuccessors = 32;
    if (pool_.size() - start > kMaxSuccessors) pool_.resize(start + kMaxSuccessors);
    return {start, static_cast<uint32_t>(pool_.size() - start)};
  }

  // pool_[start..] most probable first, equal ones in their order (what std::stable_sort does,
  // without its temporary buffer: a list is a few dozen entries, sorted on every expansion).
  void sort_by_probability(size_t start) {
    for (size_t i = start + 1; i < pool_.size(); ++i) {
      const Successor s = pool_[i];
      size_t j = i;
      for (; j > start && pool_[j - 1].p < s.p; --j) pool_[j] = pool_[j - 1];
      pool_[j] = s;
    }
  }

  CachedList merge(int32_t a, int32_t b) {
    const auto start = static_cast<uint32_t>(pool_.size());
    if (table_) {
      const auto s = table_->find(a, b);
      for (uint32_t i = 0; i < s.size && s.total > 0; ++i)
        pool_.push_back({static_cast<int32_t>(s.tokens[i]), static_cast<float>(s.counts[i]) / static_cast<float>(s.total)});
    }
    boosts_.clear();
    if (uses_overlay()) overlay().find(a, b, boosts_);
    for (const auto& e : boosts_) {
      bool found = false;
      for (size_t i = start; i < pool_.size(); ++i) {
        if (pool_[i].token == e.token) {
          pool_[i].p += e.boost;
          found = true;
          break;
        }
      }
      if (!found) pool_.push_back({e.token, e.boost});
    }
    sort_by_probability(start);
    constexpr size_t kMaxSuccessors = 32;
    if (pool_.size() - start > kMaxSuccessors) pool_.resize(start + kMaxSuccessors);
    float total = 0;
    for (size_t i = start; i < pool_.size(); ++i) total += pool_[i].p;
    for (size_t i = start; i < pool_.size(); ++i) pool_[i].p /= total;
    return {start, static_cast<uint32_t>(pool_.size() - start)};
  }

  // ----------------------------------------------------------------------------- MCTS (PUCT)

  // Greedy extensions of the searched paths stop below this joint probability.
  static constexpr float kMinExtension = 0.05f;

  double uniform() {
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 7;
    rng_ ^= rng_ << 17;
    return static_cast<double>(rng_ >> 11) * 0x1.0p-53;
  }

  void expand(int32_t index) {
    Node& n = nodes_[static_cast<size_t>(index)];
    n.expanded = true;
    const Tail state = n.state;
    const auto succ = successors(state);
    const int32_t first = static_cast<int32_t>(nodes_.size());
    const int32_t depth = n.depth + 1;
    for (const auto& s : succ) nodes_.push_back({state.then(s.token), index, -1, 0, depth, s.p, 0.0f, 0, false});
    Node& again = nodes_[static_cast<size_t>(index)];  // nodes_ may have moved
    again.first_child = first;
    again.n_children = static_cast<int32_t>(succ.size());
  }

  int32_t select_child(const Node& parent) const {
    // Unvisited children first, most probable first (children are sorted by prior).
    for (int32_t c = parent.first_child; c < parent.first_child + parent.n_children; ++c)
      if (nodes_[static_cast<size_t>(c)].visits == 0) return c;
    const double np = parent.visits;
    const double explore = (o_.c1 + std::log((np + o_.c2 + 1) / o_.c2)) * std::sqrt(np);
    int32_t best = parent.first_child;
    double best_score = -1e300;
    for (int32_t c = parent.first_child; c < parent.first_child + parent.n_children; ++c) {
      const Node& n = nodes_[static_cast<size_t>(c)];
      const double visits = n.visits;
      const double score = n.value / visits + explore * n.prior / (1.0 + visits);
      if (score > best_score) {
        best_score = score;
        best = c;
      }
    }
    return best;
  }

  // Reward as intended: 1 + the table probability of each token the rollout samples.
  double rollout(Tail state, int depth) {
    double reward = 1.0;
    for (int d = depth; d < o_.rollout_depth; ++d) {
      const auto succ = successors(state);
      if (succ.empty()) break;
      double u = uniform(), acc = 0;
      size_t pick = succ.size() - 1;
      for (size_t i = 0; i < succ.size(); ++i) {
        acc += succ[i].p;
        if (u < acc) {
          pick = i;
          break;
        }
      }
      reward += succ[pick].p;
      state = state.then(succ[pick].token);
    }
    return reward;
  }

  void mcts(const Tail& root, int max_nodes, int max_depth, DraftTree& out) {
    nodes_.clear();
    nodes_.push_back({root, -1, -1, 0, 0, 1.0f, 0.0f, 0, false});
    const int search_depth = std::min(o_.search_depth, max_depth);
    for (int it = 0; it < o_.iterations; ++it) {
      int32_t index = 0;
      while (nodes_[static_cast<size_t>(index)].expanded && nodes_[static_cast<size_t>(index)].n_children > 0)
        index = select_child(nodes_[static_cast<size_t>(index)]);
      Node& leaf = nodes_[static_cast<size_t>(index)];
      if (!leaf.expanded && leaf.depth < search_depth) expand(index);
      const Node& l = nodes_[static_cast<size_t>(index)];
      const double reward = rollout(l.state, l.depth);
      for (int32_t n = index; n >= 0; n = nodes_[static_cast<size_t>(n)].parent) {
        nodes_[static_cast<size_t>(n)].visits += 1;
        nodes_[static_cast<size_t>(n)].value += static_cast<float>(reward);
      }
      if (nodes_[0].n_children == 0) return;  // nothing to draft from this state
    }
    // Paths to the most visited nodes, each extended by its greedy successor, merged into a trie.
    order_.clear();
    for (int32_t i = 1; i < static_cast<int32_t>(nodes_.size()); ++i)
      if (nodes_[static_cast<size_t>(i)].visits > 0) order_.push_back(i);
    std::stable_sort(order_.begin(), order_.end(), [&](int32_t x, int32_t y) {
      return nodes_[static_cast<size_t>(x)].visits > nodes_[static_cast<size_t>(y)].visits;
    });
    if (static_cast<int>(order_.size()) > o_.top_paths) order_.resize(static_cast<size_t>(o_.top_paths));
    // Confidence of a node: the joint probability of its path (what the budget controller
    // calibrates); each kept path is then extended greedily while that stays worth verifying.
    for (int32_t end : order_) {
      path_.clear();
      for (int32_t n = end; n > 0; n = nodes_[static_cast<size_t>(n)].parent) path_.push_back(n);
      int32_t parent = DraftTree::kRoot;
      float conf = 1.0f;
      for (auto it = path_.rbegin(); it != path_.rend(); ++it) {
        const Node& n = nodes_[static_cast<size_t>(*it)];
        conf *= n.prior;
        parent = out.add(parent, n.state.last(), conf);
      }
      Tail state = nodes_[static_cast<size_t>(end)].state;
      for (int depth = nodes_[static_cast<size_t>(end)].depth; depth < max_depth; ++depth) {
        const auto succ = successors(state);
        if (succ.empty() || conf * succ[0].p < kMinExtension) break;
        conf *= succ[0].p;
        parent = out.add(parent, succ[0].token, conf);
        state = state.then(succ[0].token);
      }
    }
    out.sort_by_confidence();
    out.truncate(max_nodes);
  }

  // ------------------------------------------------------------- best-first by joint score

  void best_first(const Tail& root, int max_nodes, int max_depth, DraftTree& out) {
    struct Candidate {
      float joint;
      int32_t parent;  // tree node or kRoot
      int32_t token;
      int depth;
      Tail state;  // history ending in token
      bool operator<(const Candidate& o) const { return joint < o.joint; }
    };
    std::priority_queue<Candidate> queue;
    const auto push_children = [&](int32_t parent, const Tail& state, float joint, int depth) {
      const auto succ = successors(state);
      for (size_t i = 0; i < succ.size() && i < static_cast<size_t>(o_.branching); ++i)
        queue.push({joint * succ[i].p, parent, succ[i].token, depth + 1, state.then(succ[i].token)});
    };
    push_children(DraftTree::kRoot, root, 1.0f, 0);
    while (!queue.empty() && out.size() < max_nodes) {
      const Candidate c = queue.top();
      queue.pop();
      const int node = out.add(c.parent, c.token, c.joint);
      if (c.depth < max_depth) push_children(node, c.state, c.joint, c.depth);
    }
  }

  std::shared_ptr<const TrigramTable> table_;
  AdedOptions o_;
  std::shared_ptr<TrigramOverlay> shared_;
  TrigramOverlay request_;
  ContextModel context_;
  size_t adapted_ = 0;
  uint64_t rng_;
  std::unordered_map<uint64_t, CachedList> cache_;
  std::vector<Successor> pool_;
  std::vector<TrigramOverlay::Entry> boosts_;
  std::vector<Node> nodes_;
  std::vector<int32_t> order_, path_;
};

}  // namespace

std::unique_ptr<Drafter> make_aded_drafter(std::shared_ptr<const TrigramTable> table, AdedOptions options,
                                           std::shared_ptr<TrigramOverlay> shared) {
  return std::make_unique<AdedDrafter>(std::move(table), options, std::move(shared));
}

}  // namespace aded
