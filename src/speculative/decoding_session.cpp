#include <algorithm>
#include <array>
#include <chrono>
#include <numeric>

#include "aded/decoding.h"
#include "aded/error.h"

namespace aded {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
// Prompts are evaluated in slices so activation buffers stay bounded.
constexpr size_t kPrefillChunk = 256;
}  // namespace

DecodingSession::DecodingSession(Context& context, SamplingParams sampling, SpeculationOptions speculation)
    : ctx_(context), sampler_(sampling), spec_(speculation), verifier_(ctx_, sampler_) {
  if (spec_.max_nodes < 0) fail("--draft-max must be >= 0, not {}", spec_.max_nodes);
  if (spec_.max_depth < 1) fail("the draft depth must be >= 1, not {}", spec_.max_depth);
  budget_ = spec_.budget;
  if (!budget_) {
    own_budget_ = std::make_unique<BudgetController>(spec_.max_nodes);
    budget_ = own_budget_.get();
  }
  budget_->set_adaptive(spec_.adaptive_budget);
}

DecodingSession::~DecodingSession() { finish(); }

void DecodingSession::finish() {
  if (finished_) return;
  finished_ = true;
  if (spec_.drafter) spec_.drafter->end();
}

// The controller needs the target's cost curve: time forwards of a few sizes at this depth.
void DecodingSession::calibrate_costs() {
  std::vector<int32_t> filler(static_cast<size_t>(std::min(budget_->max_nodes() + 1, 64)), sequence_.back());
  for (int n : {1, 2, 4, 8, 16, 32, 64}) {
    if (n > static_cast<int>(filler.size()) || ctx_.n_past() + n > ctx_.n_ctx()) break;
    std::array<double, 3> times{};
    for (int rep = -1; rep < static_cast<int>(times.size()); ++rep) {  // rep -1 warms up
      const auto start = Clock::now();
      Batch batch = Batch::sequence(std::span<const int32_t>(filler.data(), static_cast<size_t>(n)), ctx_.n_past(), true);
      batch.greedy_only = sampler_.params().argmax_only();  // timed the way the verifier will run it
      ctx_.forward(batch);
      if (rep >= 0) times[static_cast<size_t>(rep)] = seconds_since(start);
      ctx_.truncate(ctx_.n_past());
    }
    std::sort(times.begin(), times.end());
    budget_->record_cost(n, times[1]);  // the median: one slow or fast forward must not steer the choices
  }
}

void DecodingSession::prefill(std::span<const int32_t> prompt) {
  if (prompt.empty()) throw Error("prefill: empty prompt");
  if (static_cast<int64_t>(prompt.size()) >= ctx_.n_ctx())
    fail("the prompt is {} tokens, which does not fit in the context of {} tokens (use -c to enlarge it)",
         prompt.size(), ctx_.n_ctx());
  finish();
  const auto start = Clock::now();
  ctx_.truncate(0);
  sequence_.assign(prompt.begin(), prompt.end());
  size_t n = 0;
  for (size_t at = 0; at < prompt.size(); at += kPrefillChunk) {
    n = std::min(kPrefillChunk, prompt.size() - at);
    Batch chunk = Batch::sequence(prompt.subspan(at, n), ctx_.n_past(), false);
    chunk.greedy_only = sampler_.params().argmax_only();
    ctx_.forward(chunk);
    std::vector<int32_t> all(n);
    std::iota(all.begin(), all.end(), 0);
    ctx_.commit(all);
  }
  sequence_.push_back(sampler_.sample(ctx_.logits(static_cast<int>(n) - 1), sequence_, static_cast<int64_t>(prompt.size())));
  first_pending_ = true;
  stats_ = {};
  stats_.prompt_tokens = static_cast<int>(prompt.size());
  stats_.prefill_seconds = seconds_since(start);
  if (spec_.drafter) {
    spec_.drafter->begin(prompt);
    spec_.drafter->observe(sequence_, 1);
    finished_ = false;
    if (spec_.adaptive_budget && !budget_->has_costs()) calibrate_costs();
  }
}

bool DecodingSession::step(std::vector<int32_t>& out) {
  if (sequence_.empty()) throw Error("step: call prefill first");
  if (first_pending_) {
    first_pending_ = false;
    out.push_back(sequence_.back());
    ++stats_.generated;
    return true;
  }
  // The last emitted token is not in the cache yet: it is the root of this step's tree.
  const int room = ctx_.n_ctx() - ctx_.n_past() - 1;
  if (room < 1) return false;
  const auto step_start = Clock::now();
  tree_.clear();
  if (spec_.drafter && spec_.max_nodes > 0 && room > 1) {
    const auto draft_start = Clock::now();
    DraftRequest request{sequence_, std::min(spec_.max_nodes, room - 1), spec_.max_depth};
    spec_.drafter->propose(request, tree_);
    tree_.limit_depth(spec_.max_depth);  // drafters are trusted for speed, not for limits
    tree_.truncate(std::min(budget_->choose(tree_), room - 1));
    stats_.draft_seconds += seconds_since(draft_start);
  }
  const auto verify_start = Clock::now();
  const VerifyResult result = verifier_.verify(tree_, sequence_);
  const double verify_seconds = seconds_since(verify_start);
  stats_.verify_seconds += verify_seconds;
  budget_->record_cost(tree_.size() + 1, verify_seconds);
  if (!tree_.empty()) budget_->record_outcome(tree_, result);

  const size_t depth_slots = static_cast<size_t>(spec_.max_depth) + 2;
  if (stats_.verified_at_depth.size() < depth_slots) {
    stats_.verified_at_depth.resize(depth_slots);
    stats_.accepted_at_depth.resize(depth_slots);
  }
  for (int i = 0; i < tree_.size(); ++i)
    ++stats_.verified_at_depth[std::min(depth_slots - 1, static_cast<size_t>(tree_.depth(i)))];
  for (int i : result.accepted_nodes)
    ++stats_.accepted_at_depth[std::min(depth_slots - 1, static_cast<size_t>(tree_.depth(i)))];
  stats_.nodes_verified += tree_.size();

  sequence_.insert(sequence_.end(), result.emitted.begin(), result.emitted.end());
  out.insert(out.end(), result.emitted.begin(), result.emitted.end());
  if (spec_.drafter) {
    const auto observe_start = Clock::now();
    spec_.drafter->observe(sequence_, static_cast<int>(result.emitted.size()));
    stats_.draft_seconds += seconds_since(observe_start);
  }
  stats_.generated += static_cast<int>(result.emitted.size());
  ++stats_.steps;
  stats_.decode_seconds += seconds_since(step_start);
  return true;
}

}  // namespace aded
