#include <algorithm>
#include <array>
#include <numeric>

#include "aded/decoding.h"
#include "aded/error.h"
#include "core/stopwatch.h"

namespace aded {

namespace {
// Prompts are evaluated in slices so activation buffers stay bounded.
constexpr size_t kPrefillChunk = 256;
}  // namespace

DecodingSession::DecodingSession(Context& context, SamplingParams sampling, Speculator* speculator,
                                 bool token_probabilities)
    : ctx_(context), sampler_(sampling), speculator_(speculator), verifier_(ctx_, sampler_),
      token_probabilities_(token_probabilities) {
  if (speculator_ && speculator_->arms() == 0) speculator_ = nullptr;
  verifier_.set_token_probabilities(token_probabilities);
}

DecodingSession::~DecodingSession() { finish(); }

void DecodingSession::finish() {
  if (finished_) return;
  finished_ = true;
  if (speculator_) speculator_->end();
}

// The budget controllers need the target's cost curve: time forwards of a few sizes at this depth.
void DecodingSession::calibrate_costs() {
  std::vector<int32_t> filler(static_cast<size_t>(std::min(speculator_->max_nodes() + 1, 64)), sequence_.back());
  for (int n : {1, 2, 4, 8, 16, 32, 64}) {
    if (n > static_cast<int>(filler.size()) || ctx_.n_past() + n > ctx_.n_ctx()) break;
    std::array<double, 3> times{};
    for (int rep = -1; rep < static_cast<int>(times.size()); ++rep) {  // rep -1 warms up
      const Stopwatch start;
      Batch batch = Batch::sequence(std::span<const int32_t>(filler.data(), static_cast<size_t>(n)), ctx_.n_past(), true);
      batch.greedy_only = sampler_.params().argmax_only() && !token_probabilities_;  // as the verifier runs it
      ctx_.forward(batch);
      if (rep >= 0) times[static_cast<size_t>(rep)] = start.seconds();
      ctx_.truncate(ctx_.n_past());
    }
    std::sort(times.begin(), times.end());
    speculator_->target_cost().record(n, times[1]);  // the median: one slow or fast forward must not steer the choices
  }
}

void DecodingSession::prefill(std::span<const int32_t> prompt, int cached) {
  if (prompt.empty()) throw Error("prefill: empty prompt");
  if (static_cast<int64_t>(prompt.size()) >= ctx_.n_ctx())
    fail("the prompt is {} tokens, which does not fit in the context of {} tokens (use -c to enlarge it)",
         prompt.size(), ctx_.n_ctx());
  if (cached < 0 || cached > ctx_.n_past() || static_cast<size_t>(cached) >= prompt.size())
    throw Error("prefill: the cached prefix must be shorter than the prompt and inside the cache");
  finish();
  const Stopwatch start;
  ctx_.truncate(cached);
  sequence_.assign(prompt.begin(), prompt.end());
  size_t n = 0;
  for (size_t at = static_cast<size_t>(cached); at < prompt.size(); at += kPrefillChunk) {
    n = std::min(kPrefillChunk, prompt.size() - at);
    Batch chunk = Batch::sequence(prompt.subspan(at, n), ctx_.n_past(), false);
    chunk.greedy_only = sampler_.params().argmax_only() && !token_probabilities_;
    ctx_.forward(chunk);
    std::vector<int32_t> all(n);
    std::iota(all.begin(), all.end(), 0);
    ctx_.commit(all);
  }
  const auto last_logits = ctx_.logits(static_cast<int>(n) - 1);
  sequence_.push_back(sampler_.sample(last_logits, sequence_, static_cast<int64_t>(prompt.size())));
  if (token_probabilities_) first_probability_ = token_probability(last_logits, sequence_.back());
  first_pending_ = true;
  stats_ = {};
  stats_.prompt_tokens = static_cast<int>(prompt.size());
  stats_.prompt_tokens_cached = cached;
  stats_.prefill_seconds = start.seconds();
  if (speculator_) {
    speculator_->begin(prompt, sampler_.params());
    speculator_->observe_prefill(sequence_);
    finished_ = false;
    if (speculator_->adaptive() && speculator_->target_cost().empty()) calibrate_costs();
  }
}

bool DecodingSession::step(std::vector<int32_t>& out) {
  if (sequence_.empty()) throw Error("step: call prefill first");
  last_drafted_ = 0;
  last_probabilities_.clear();
  if (first_pending_) {
    first_pending_ = false;
    out.push_back(sequence_.back());
    if (token_probabilities_) last_probabilities_.push_back(first_probability_);
    ++stats_.generated;
    return true;
  }
  // The last emitted token is not in the cache yet: it is the root of this step's tree.
  const int room = ctx_.n_ctx() - ctx_.n_past() - 1;
  if (room < 1) return false;
  const Stopwatch step_start;
  tree_.clear();
  if (speculator_) {
    const Stopwatch draft_start;
    speculator_->draft(sequence_, room - 1, tree_);
    stats_.draft_seconds += draft_start.seconds();
  }
  const Stopwatch verify_start;
  const VerifyResult result = verifier_.verify(tree_, sequence_);
  const double verify_seconds = verify_start.seconds();
  stats_.verify_seconds += verify_seconds;

  const size_t depth_slots = static_cast<size_t>(speculator_ ? speculator_->max_depth() : 1) + 2;
  if (stats_.verified_at_depth.size() < depth_slots) {
    stats_.verified_at_depth.resize(depth_slots);
    stats_.accepted_at_depth.resize(depth_slots);
  }
  for (int i = 0; i < tree_.size(); ++i)
    ++stats_.verified_at_depth[std::min(depth_slots - 1, static_cast<size_t>(tree_.depth(i)))];
  for (int i : result.accepted_nodes)
    ++stats_.accepted_at_depth[std::min(depth_slots - 1, static_cast<size_t>(tree_.depth(i)))];
  stats_.nodes_verified += tree_.size();
  if (tree_.has_draft_distributions()) stats_.nodes_sampled += tree_.size();

  sequence_.insert(sequence_.end(), result.emitted.begin(), result.emitted.end());
  out.insert(out.end(), result.emitted.begin(), result.emitted.end());
  last_drafted_ = static_cast<int>(result.accepted_nodes.size());
  last_probabilities_ = result.probabilities;
  if (speculator_) {
    const Stopwatch observe_start;
    speculator_->observe(sequence_, tree_, result, verify_seconds);
    stats_.draft_seconds += observe_start.seconds();
  }
  stats_.generated += static_cast<int>(result.emitted.size());
  ++stats_.steps;
  stats_.decode_seconds += step_start.seconds();
  return true;
}

}  // namespace aded
