// Self-speculation by layer skipping and/or a low-bit copy of the weights (model_drafters.h). The
// draft forwards run on the target's own context past its committed cells: each drafted token is committed so the next one sees it, and
// the context is truncated back afterwards; the verification then forwards the root and the tree
// over the same cells with every sublayer, rewriting what the drafts wrote.
#include <algorithm>

#include "aded/error.h"
#include "aded/model_drafters.h"
#include "speculative/draft_chain.h"
#include "speculative/draft_sampler.h"
#include "speculative/online_skip_search.h"

namespace aded {

namespace {

class LayerSkipDrafter final : public Drafter {
 public:
  LayerSkipDrafter(Context& target, ModelDraftOptions o,
                   std::unique_ptr<OnlineSkipSearch> online = nullptr)
      : ctx_(target),
        sample_(o.sample),
        plan_(o.plan),
        weights_(std::move(o.weights)),
        exit_(o.exit),
        online_(std::move(online)) {
    if (online_) plan_ = online_->plan();
    const int layers = ctx_.model().config().n_layers;
    if ((!plan_.attention.empty() && static_cast<int>(plan_.attention.size()) != layers) ||
        (!plan_.mlp.empty() && static_cast<int>(plan_.mlp.size()) != layers) ||
        plan_.exit_after < 0 || plan_.exit_after > layers)
      fail("self-speculation: the skip set does not fit the model's {} layers", layers);
    if (weights_ && !(weights_->config() == ctx_.model().config()))
      fail("self-speculation: the drafting weights are not a copy of the target ({}; the target: {})",
           weights_->config().describe(), ctx_.model().config().describe());
    // Packed now: packing inside the first proposal would price every draft node as costly.
    if (weights_) ctx_.prepare_weights(*weights_);
  }

  std::string_view name() const override { return "self"; }
  void begin(std::span<const int32_t> prompt) override {
    if (online_) online_->begin(static_cast<int32_t>(prompt.size()));
  }

  void propose(const DraftRequest& r, DraftTree& out) override {
    const int32_t n0 = ctx_.n_past();
    // The session verifies with this context: the cache holds every token but the root.
    if (r.context.empty() || static_cast<int64_t>(r.context.size()) != n0 + 1) return;
    if (online_) {
      online_->step(ctx_, r.context);
      plan_ = online_->plan();
    }
    const int limit = std::min({r.max_nodes, r.max_depth, ctx_.n_ctx() - n0 - 1});
    sampler_.reset(sample_ ? r.sampling : nullptr);
    recent_.assign(r.context.begin(), r.context.end());
    const auto step = [&](int32_t token) {
      Batch b = Batch::sequence(std::span<const int32_t>(&token, 1), ctx_.n_past(), true);
      b.greedy_only = !sampler_.active();
      b.top_probability = exit_.needs_probability();
      b.plan = plan_;
      b.weights = weights_.get();
      ctx_.forward(b);
      Guess g;
      if (sampler_.active()) {
        if (ctx_.n_past() >= n0 + 1) recent_.push_back(token);  // a drafted token (not the root)
        g = sampler_.draw(ctx_.logits(0), recent_, ctx_.n_past() + 1);
      } else {
        g = Guess{ctx_.greedy_argmax(0) >= 0 ? ctx_.greedy_argmax(0) : argmax_of(ctx_.logits(0)),
                  exit_.needs_probability() ? ctx_.top_probability(0) : 1.0f};
      }
      const int32_t keep = 0;
      ctx_.commit(std::span<const int32_t>(&keep, 1));
      return g;
    };
    last_full_ = draft_chain(r.context.back(), limit, exit_.threshold(), step, out);
    ctx_.truncate(n0);
  }

  void observe(const DraftFeedback& f) override {
    if (f.verified)
      exit_.update(f.verified->size(), static_cast<int>(f.accepted_nodes.size()), last_full_);
  }

 private:
  static int32_t argmax_of(std::span<const float> row) {
    int32_t best = 0;
    for (size_t i = 1; i < row.size(); ++i)
      if (row[i] > row[static_cast<size_t>(best)]) best = static_cast<int32_t>(i);
    return best;
  }

  Context& ctx_;
  bool sample_;
  DraftSampler sampler_;
  std::vector<int32_t> recent_;  // a sampled chain's history: the context, then its drafts
  LayerPlan plan_;
  std::shared_ptr<const Model> weights_;
  DraftExit exit_;
  bool last_full_ = false;
  std::unique_ptr<OnlineSkipSearch> online_;
};

}  // namespace

std::unique_ptr<Drafter> make_online_skip_drafter(Context& target, DraftExitOptions exit, bool sample) {
  auto online = std::make_unique<OnlineSkipSearch>(target.model().config().n_layers);
  ModelDraftOptions o;
  o.exit = exit;
  o.sample = sample;
  return std::make_unique<LayerSkipDrafter>(target, std::move(o), std::move(online));
}

std::unique_ptr<Drafter> make_layer_skip_drafter(Context& target, ModelDraftOptions options) {
  return std::make_unique<LayerSkipDrafter>(target, std::move(options));
}

}  // namespace aded
