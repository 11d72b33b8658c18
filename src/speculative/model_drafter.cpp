// A drafter with a model of its own (model_drafters.h). Its context holds the request's tokens up
// to the root, and the chain it drafted last: before each proposal it keeps the cells of the drafts
// the verification accepted, drops the others, forwards whatever of the context is still missing
// (the last accepted draft when the whole chain was accepted) in one batch, then drafts past it.
#include <algorithm>
#include <numeric>

#include "aded/error.h"
#include "aded/model_drafters.h"
#include "speculative/draft_chain.h"
#include "speculative/draft_sampler.h"

namespace aded {

namespace {

// Prompts are evaluated in slices so the draft context's activation buffers stay bounded.
constexpr size_t kChunk = 256;

class ModelDrafter final : public Drafter {
 public:
  ModelDrafter(std::shared_ptr<const Model> draft, ContextOptions context, ModelDraftOptions o)
      : model_(std::move(draft)), ctx_(model_, context), sample_(o.sample), plan_(o.plan), exit_(o.exit) {}

  std::string_view name() const override { return "draft"; }

  // The prompt is forwarded by the first proposal's catch-up, not here: a request whose budget
  // never asks this drafter (it costs more than it saves) does not pay the draft model's prefill.
  void begin(std::span<const int32_t>) override {}

  void propose(const DraftRequest& r, DraftTree& out) override {
    if (r.context.empty()) return;
    const size_t len = r.context.size();
    if (len >= static_cast<size_t>(ctx_.n_ctx())) return;
    sync(r.context.first(len - 1));
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
    // The chain's cells stay: the next sync keeps those of the drafts the target accepts (the
    // prefix they share with the new context) and drops the rest, so accepted drafts are not
    // forwarded a second time.
    last_full_ = draft_chain(r.context.back(), limit, exit_.threshold(), step, out);
  }

  void observe(const DraftFeedback& f) override {
    if (f.verified)
      exit_.update(f.verified->size(), static_cast<int>(f.accepted_nodes.size()), last_full_);
  }

 private:
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
};

}  // namespace

std::unique_ptr<Drafter> make_model_drafter(std::shared_ptr<const Model> draft,
                                            ContextOptions context, ModelDraftOptions options) {
  if (!draft) throw Error("model drafter: no model");
  return std::make_unique<ModelDrafter>(std::move(draft), context, std::move(options));
}

}  // namespace aded
