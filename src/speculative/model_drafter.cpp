// A drafter with a model of its own (model_drafters.h). Its context holds the request's tokens up
// to the root, and the chain it drafted last: before each proposal it keeps the cells of the drafts
// the verification accepted, drops the others, forwards whatever of the context is still missing
// (the last accepted draft when the whole chain was accepted) in one batch, then drafts past it.
// With branches (ModelDraftOptions::branches) the chain grows alternatives at the model's uncertain
// positions: each is forwarded beside the chain's next token, as a sibling (a tree batch whose
// tokens all hang off the committed cells), which gives it one child; only the chain's cell stays.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "aded/error.h"
#include "aded/model_drafters.h"
#include "core/stopwatch.h"
#include "speculative/draft_chain.h"
#include "speculative/draft_sampler.h"

namespace aded {

namespace {

// Prompts are evaluated in slices so the draft context's activation buffers stay bounded.
constexpr size_t kChunk = 256;

class ModelDrafter final : public Drafter {
 public:
  ModelDrafter(std::shared_ptr<const Model> draft, ContextOptions context, ModelDraftOptions o)
      : model_(std::move(draft)),
        ctx_(model_, context),
        sample_(o.sample),
        plan_(o.plan),
        exit_(o.exit),
        branches_(o.branches),
        branch_below_(o.branch_below),
        branch_min_(o.branch_min) {}

  std::string_view name() const override { return "draft"; }

  // The prompt is forwarded by the first proposal's catch-up, not here: a request whose budget
  // never asks this drafter (it costs more than it saves) does not pay the draft model's prefill.
  void begin(std::span<const int32_t>) override { steps_since_proposal_ = kIdle; }

  double idle_catch_up_seconds() const override { return idle_seconds_; }

  void propose(const DraftRequest& r, DraftTree& out) override {
    if (r.context.empty()) return;
    const size_t len = r.context.size();
    idle_seconds_ = 0;
    if (len >= static_cast<size_t>(ctx_.n_ctx())) return;
    const bool idle = steps_since_proposal_ > 1;  // skipped steps (or a new request) to catch up on
    steps_since_proposal_ = 0;
    const Stopwatch catch_up;
    sync(r.context.first(len - 1));
    if (idle) idle_seconds_ = catch_up.seconds();
    const int32_t root_cells = ctx_.n_past();
    const int limit = std::min({r.max_nodes, r.max_depth, ctx_.n_ctx() - root_cells - 1});
    sampler_.reset(sample_ ? r.sampling : nullptr);
    recent_.assign(r.context.begin(), r.context.end());
    const auto step = [&](int32_t token) {
      // The first step forwards the root; later ones each drafted token.
      const std::span<const int32_t> one(&token, 1);
      Batch b = Batch::sequence(one, ctx_.n_past(), false);
      b.greedy_only = !sampler_.active();
      b.top_probability = exit_.needs_probability();
      b.plan = plan_;
      ctx_.forward(b);
      Guess g;
      if (sampler_.active()) {
        if (ctx_.n_past() > root_cells) recent_.push_back(token);  // a drafted token (not the root)
        g = sampler_.draw(ctx_.logits(0), recent_, ctx_.n_past() + 1);
      } else {
        const int32_t guess = ctx_.greedy_argmax(0);
        g = Guess{guess >= 0 ? guess : top_of(ctx_.logits(0)),
                  exit_.needs_probability() ? ctx_.top_probability(0) : 1.0f};
      }
      const int32_t keep = 0;
      ctx_.commit(std::span<const int32_t>(&keep, 1));
      synced_.push_back(token);
      return g;
    };
    if (limit < 1) return;
    if (branches_ > 0) {
      propose_tree(r, limit, out);
      return;
    }
    // The chain's cells stay: the next sync keeps those of the drafts the target accepts (the
    // prefix they share with the new context) and drops the rest, so accepted drafts are not
    // forwarded a second time.
    last_full_ = draft_chain(r.context.back(), limit, exit_.threshold(), step, out);
  }

  void observe(const DraftFeedback& f) override {
    if (steps_since_proposal_ < kIdle) ++steps_since_proposal_;
    if (!f.verified) return;
    if (branches_ == 0) {
      exit_.update(f.verified->size(), static_cast<int>(f.accepted_nodes.size()), last_full_);
      return;
    }
    // The exit threshold follows the chain: its nodes the budget kept, and how many were accepted.
    int drafted = 0, accepted = 0;
    int node = DraftTree::kRoot;
    for (int32_t token : chain_) {
      node = f.verified->find_child(node, token);
      if (node < 0) break;
      ++drafted;
      if (static_cast<size_t>(accepted) < f.accepted_nodes.size() && f.accepted_nodes[static_cast<size_t>(accepted)] == node)
        ++accepted;
    }
    exit_.update(drafted, accepted, last_full_);
  }

 private:
  // A tree (branches_ > 0): the chain as above, and at each position where the model's top
  // probability is below branch_below_, up to branches_ alternatives beside the chain's token.
  // Level d forwards the chain's token at depth d with the alternatives at that depth, all
  // children of the committed cells; the chain's row gives the next level, each alternative's row
  // its one child. Confidences: as the chain's for chain nodes; an alternative's is its parent's
  // times its probability under the model (greedy) or, when sampling, its parent's times the top
  // of q halved per extra draw, which does not depend on the token drawn, so which candidates the
  // budget keeps never depends on a candidate's own value (VERIFY.md's multi-candidate rule).
  void propose_tree(const DraftRequest& r, int limit, DraftTree& out) {
    const bool sampled = sampler_.active();
    std::vector<int32_t> level{r.context.back()};  // the chain's token first, then alternatives
    std::vector<int> nodes{DraftTree::kRoot};
    std::vector<float> confidence{1.0f};
    chain_.clear();
    last_full_ = true;
    for (int depth = 0; depth < limit; ++depth) {
      const int64_t position = ctx_.n_past() + 1;  // of the tokens this level's rows predict
      const size_t fits = static_cast<size_t>(ctx_.n_ctx() - ctx_.n_past());
      if (level.size() > fits) level.resize(fits);  // near the end of the context: fewer siblings
      forward_level(level);
      // Each alternative's child (the chain's recent_ holds the context and the chain so far).
      for (size_t j = 1; j < level.size(); ++j) {
        Guess g = guess(static_cast<int>(j), level[j], position, kBranchStreams * static_cast<uint32_t>(j));
        const int child = out.add(nodes[j], g.token, confidence[j] * g.probability, sampled);
        if (!g.q.empty()) out.set_draft_distribution(child, std::move(g.q));
      }
      const int32_t keep = 0;
      ctx_.commit(std::span<const int32_t>(&keep, 1));
      synced_.push_back(level[0]);
      if (depth > 0) recent_.push_back(level[0]);
      // The chain's next token, and its alternatives where the model is unsure.
      Guess g = guess(0, -1, position, 0);
      const float top = sampled ? (g.q.empty() ? 0.0f : g.q.front().p) : g.probability;
      const float parent_confidence = confidence[0];
      const int parent = nodes[0];
      std::vector<TokenProb> q = g.q;  // kept for the alternatives' draws
      const int chain_node = out.add(parent, g.token, parent_confidence * top, sampled);
      if (!g.q.empty()) out.set_draft_distribution(chain_node, std::move(g.q));
      chain_.push_back(g.token);
      level.assign(1, g.token);
      nodes.assign(1, chain_node);
      confidence.assign(1, parent_confidence * top);
      if (top < branch_below_) {
        for (int k = 1; k <= branches_; ++k) {
          int32_t token;
          float c;
          if (sampled) {
            token = sampler_.redraw(q, position, static_cast<uint32_t>(k));
            c = parent_confidence * top * std::ldexp(1.0f, -k);
          } else {
            if (static_cast<size_t>(k) >= top_.size() || top_[static_cast<size_t>(k)].p < branch_min_) break;
            token = top_[static_cast<size_t>(k)].id;
            c = parent_confidence * top_[static_cast<size_t>(k)].p;
          }
          const int node = out.add(parent, token, c, sampled);
          if (sampled) out.set_draft_distribution(node, q);
          level.push_back(token);
          nodes.push_back(node);
          confidence.push_back(c);
        }
      }
      if (top < exit_.threshold()) {
        last_full_ = depth + 1 == limit;
        break;
      }
    }
    out.sort_by_confidence();
    if (out.size() > r.max_nodes) out.truncate(r.max_nodes);
  }

  // Forwards the tokens as children of the committed cells (one position, each sees only the
  // cache and itself), with logits for every row.
  void forward_level(std::span<const int32_t> tokens) {
    Batch b;
    b.tokens.assign(tokens.begin(), tokens.end());
    b.positions.assign(tokens.size(), ctx_.n_past());
    const std::vector<int32_t> parents(tokens.size(), -1);
    b.mask = AttentionMask::tree(ctx_.n_past(), parents);
    b.plan = plan_;
    ctx_.forward(b);
  }

  // The model's guess from row `row` of the last forward. Greedy: its argmax and probability (and
  // for the chain's row, the top tokens in top_). Sampling: a draw from q; `extra`, when not -1,
  // is a token after the chain so far (an alternative's child sees it in its history).
  Guess guess(int row, int32_t extra, int64_t position, uint32_t candidate) {
    const auto logits = ctx_.logits(row);
    if (sampler_.active()) {
      if (extra < 0) return sampler_.draw(logits, recent_, position, candidate);
      history_.assign(recent_.begin(), recent_.end());
      history_.push_back(extra);
      return sampler_.draw(logits, history_, position, candidate);
    }
    top_tokens(logits, row == 0 ? static_cast<size_t>(branches_) + 1 : 1, top_);
    return Guess{top_.front().id, top_.front().p};
  }

  // The k most likely tokens of a row with their softmax probabilities, most likely first (ties:
  // the lower id, as the greedy argmax).
  static void top_tokens(std::span<const float> row, size_t k, std::vector<TokenProb>& out) {
    float max = -INFINITY;
    for (float v : row) max = std::max(max, v);
    double sum = 0;
    for (float v : row) sum += std::exp(static_cast<double>(v - max));
    out.clear();
    for (size_t i = 0; i < row.size(); ++i) {
      const TokenProb t{static_cast<int32_t>(i), static_cast<float>(std::exp(static_cast<double>(row[i] - max)) / sum)};
      const auto before = [](const TokenProb& a, const TokenProb& b) { return a.p > b.p || (a.p == b.p && a.id < b.id); };
      if (out.size() < k) {
        out.insert(std::upper_bound(out.begin(), out.end(), t, before), t);
      } else if (before(t, out.back())) {
        out.pop_back();
        out.insert(std::upper_bound(out.begin(), out.end(), t, before), t);
      }
    }
  }

  static int32_t top_of(std::span<const float> row) {
    return static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
  }

  // Makes the draft cache hold exactly `tokens`: keeps the prefix it shares with them, forwards
  // the rest in causal chunks.
  void sync(std::span<const int32_t> tokens) {
    size_t common = 0;
    const size_t limit = std::min(synced_.size(), tokens.size());
    while (common < limit && synced_[common] == tokens[common]) ++common;
    synced_.resize(common);
    ctx_.truncate(static_cast<int32_t>(common));
    for (size_t at = common; at < tokens.size(); at += kChunk) {
      const auto chunk = tokens.subspan(at, std::min(kChunk, tokens.size() - at));
      Batch b = Batch::sequence(chunk, ctx_.n_past(), false);
      b.want_logits.assign(chunk.size(), 0);  // only the cache matters here
      b.plan = plan_;
      ctx_.forward(b);
      std::vector<int32_t> all(chunk.size());
      std::iota(all.begin(), all.end(), 0);
      ctx_.commit(all);
      synced_.insert(synced_.end(), chunk.begin(), chunk.end());
    }
  }

  std::shared_ptr<const Model> model_;
  Context ctx_;
  bool sample_;
  DraftSampler sampler_;
  std::vector<int32_t> recent_;  // a sampled chain's history: the context, then its drafts
  LayerPlan plan_;
  DraftExit exit_;
  std::vector<int32_t>
      synced_;  // the tokens whose cells the draft cache holds (context, then chain)
  bool last_full_ = false;
  // Sampled trees: the chain's draws use stream 0, the k-th alternative beside it stream k, the
  // child of the j-th alternative of the level before stream kBranchStreams * j (same position,
  // so each needs its own).
  static constexpr uint32_t kBranchStreams = 16;
  int branches_;
  float branch_below_, branch_min_;
  static constexpr int kIdle = 1 << 20;
  int steps_since_proposal_ = kIdle;  // steps observed since the last proposal
  double idle_seconds_ = 0;
  std::vector<int32_t> chain_;    // the chain of the last tree (for the exit's rate)
  std::vector<TokenProb> top_;    // the chain row's top tokens (greedy trees)
  std::vector<int32_t> history_;  // an alternative's child's history (sampled trees)
};

}  // namespace

std::unique_ptr<Drafter> make_model_drafter(std::shared_ptr<const Model> draft,
                                            ContextOptions context, ModelDraftOptions options) {
  if (!draft) throw Error("model drafter: no model");
  return std::make_unique<ModelDrafter>(std::move(draft), context, std::move(options));
}

}  // namespace aded
