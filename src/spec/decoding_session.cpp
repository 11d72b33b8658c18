#include <chrono>

#include "aded/decoding.h"
#include "aded/error.h"

namespace aded {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
// Prompts are evaluated in slices so activation buffers stay bounded.
constexpr size_t kPrefillChunk = 256;
}  // namespace

DecodingSession::DecodingSession(Context& context, SamplingParams sampling)
    : ctx_(context), sampler_(sampling) {}

int32_t DecodingSession::draw(std::span<const float> logits, int64_t position) {
  return sampler_.sample(logits, sequence_, position);
}

void DecodingSession::prefill(std::span<const int32_t> prompt) {
  if (prompt.empty()) throw Error("prefill: empty prompt");
  if (static_cast<int64_t>(prompt.size()) >= ctx_.n_ctx())
    fail("the prompt is {} tokens, which does not fit in the context of {} tokens (use -c to enlarge it)",
         prompt.size(), ctx_.n_ctx());
  const auto start = std::chrono::steady_clock::now();
  ctx_.truncate(0);
  sequence_.assign(prompt.begin(), prompt.end());
  size_t n = 0;
  for (size_t at = 0; at < prompt.size(); at += kPrefillChunk) {
    n = std::min(kPrefillChunk, prompt.size() - at);
    ctx_.forward(Batch::sequence(prompt.subspan(at, n), ctx_.n_past(), false));
    std::vector<int32_t> all(n);
    for (size_t i = 0; i < n; ++i) all[i] = static_cast<int32_t>(i);
    ctx_.commit(all);
  }
  sequence_.push_back(draw(ctx_.logits(static_cast<int>(n) - 1), static_cast<int64_t>(prompt.size())));
  first_pending_ = true;
  stats_ = {};
  stats_.prompt_tokens = static_cast<int>(prompt.size());
  stats_.prefill_seconds = seconds_since(start);
}

bool DecodingSession::step(std::vector<int32_t>& out) {
  if (sequence_.empty()) throw Error("step: call prefill first");
  if (first_pending_) {
    first_pending_ = false;
    out.push_back(sequence_.back());
    ++stats_.generated;
    return true;
  }
  // The last emitted token is not in the cache yet: evaluate it and draw the next one.
  if (ctx_.n_past() + 1 >= ctx_.n_ctx()) return false;
  const auto start = std::chrono::steady_clock::now();
  const int32_t last = sequence_.back();
  ctx_.forward(Batch::sequence(std::span<const int32_t>(&last, 1), ctx_.n_past(), true));
  const int32_t ids[] = {0};
  ctx_.commit(ids);
  const int32_t next = draw(ctx_.logits(0), static_cast<int64_t>(sequence_.size()));
  sequence_.push_back(next);
  out.push_back(next);
  ++stats_.generated;
  ++stats_.steps;
  stats_.decode_seconds += seconds_since(start);
  return true;
}

}  // namespace aded
