// Drafters that run a model: a smaller draft model, a low-bit copy of the target, or the target
// itself with some of its sublayers skipped (self-speculative decoding, Zhang et al., "Draft &
// Verify", arXiv 2309.08168). Each drafts a greedy chain with the drafting model and stops early
// when that model becomes unsure of its next token (adaptive draft exit).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "aded/context.h"
#include "aded/drafter.h"
#include "aded/model.h"

namespace aded {

// Draft & Verify's adaptive draft exit: drafting stops after a token whose top-1 probability is
// below the threshold. After each verification the rate of accepted drafts is smoothed,
//   rate <- rate_smoothing * rate + (1 - rate_smoothing) * accepted / drafted,
// and the threshold moves toward threshold + step when the rate is below target_rate (draft less),
// toward threshold - step when it is above and the draft stopped early (draft more), by
//   threshold <- threshold_smoothing * threshold + (1 - threshold_smoothing) * moved.
// Defaults are the constants of the authors' released code.
struct DraftExitOptions {
  float threshold = 0.8f;
  bool adaptive = true;
  float target_rate = 0.9f;
  float step = 0.01f;
  float rate_smoothing = 0.5f;
  float threshold_smoothing = 0.9f;
};

class DraftExit {
 public:
  explicit DraftExit(DraftExitOptions o = {}) : o_(o), threshold_(o.threshold) {}
  float threshold() const { return threshold_; }
  // Whether drafting needs each token's top probability (not for a fixed threshold of 0).
  bool needs_probability() const { return o_.adaptive || threshold_ > 0; }
  // After a verification of `drafted` nodes of which `accepted` were accepted; full: the draft
  // ran to its length limit instead of exiting.
  void update(int drafted, int accepted, bool full);

 private:
  DraftExitOptions o_;
  float threshold_;
  float rate_ = 0;
};

// Which sublayers a skip specification leaves out: "" or "none" (none), "every-other" (the
// attention and MLP of every second layer, starting with the second), or a comma-separated list of
// a<layer> (attention) and m<layer> (MLP), layers counted from 0 (',' or '+' between items). Throws InputError naming the item.
LayerPlan parse_skip_plan(std::string_view spec, int n_layers);
// The same, or "@FILE": the first line of FILE that is not blank or a # comment (the file
// `aded tune-skip -o` writes). Errors name the file.
LayerPlan read_skip_plan(std::string_view spec, int n_layers);
// "a1,a3,m1" (attention items first, layers ascending), or "none": what parse_skip_plan reads.
std::string format_skip_plan(const LayerPlan& plan);

struct ModelDraftOptions {
  DraftExitOptions exit;
  LayerPlan plan{};  // sublayers the drafting model runs (default: all)
  // When the target samples: draw drafts from the drafting model's distribution q and attach it
  // (DraftRequest::sampling); false: draft its argmax (plain sampling's tokens for a seed).
  bool sample = true;
  // Draft models only: a tree instead of a chain. Where the model's top probability for the next
  // chain token is below branch_below, up to `branches` alternatives become siblings of it (the
  // next most likely tokens, or further draws from q when sampling), forwarded in the same batch as
  // the chain's next token so each gets one child of its own. 0: a chain. Greedy alternatives less
  // likely than branch_min under the model are left out.
  int branches = 0;
  float branch_below = 0.6f;
  float branch_min = 0.02f;
  // Self-speculation only: draft with this copy of the target's weights (a low-bit copy, equal
  // ModelConfig) over the target's cache; null: the target's own weights.
  std::shared_ptr<const Model> weights = nullptr;
};

// A drafter with its own model (a draft model with the target's vocabulary, or a low-bit copy of
// the target) in its own context: context.pool should be the target context's shared pool so the
// two take turns on the same threads. The draft context keeps the request's tokens in its cache
// and catches up on the accepted ones before each proposal, in one batch.
std::unique_ptr<Drafter> make_model_drafter(std::shared_ptr<const Model> draft, ContextOptions context,
                                            ModelDraftOptions options = {});

// Self-speculation: drafts with the target's own context, running only the sublayers of
// options.plan, with the target's weights or a low-bit copy of them (options.weights), over the
// same KV cache: the drafts read the cells the target wrote, so there is no second cache to fill or
// keep up to date, and the verification rewrites the cells the drafts used. The context must
// outlive the drafter and be the one the session verifies with.
std::unique_ptr<Drafter> make_layer_skip_drafter(Context& target, ModelDraftOptions options);

// The same with the skip set adapted while generating, without an offline search (SWIFT, arXiv
// 2410.06916): candidates scored by how often the skipped model predicts the request's own
// generated text (src/speculative/online_skip_search.h). Needs a model of at least 3 layers.
std::unique_ptr<Drafter> make_online_skip_drafter(Context& target, DraftExitOptions exit = {},
                                                 bool sample = true);

}  // namespace aded
