#include "server/generation_job.h"

#include <chrono>

namespace aded::server {

double monotonic_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

Speculator* speculator_for(Slot& slot, const DrafterRegistry& registry, const MethodChoice& method) {
  if (method.plain()) return nullptr;
  auto it = slot.speculators.find(method.text);
  if (it == slot.speculators.end()) {
    constexpr size_t kMaxSpeculatorsPerSlot = 8;
    if (slot.speculators.size() >= kMaxSpeculatorsPerSlot) slot.speculators.erase(slot.speculators.begin());
    it = slot.speculators.emplace(method.text, registry.make_speculator(method, slot.env)).first;
  }
  return it->second.get();
}

namespace {

nlohmann::json timings_of(const DecodingStats& s, int64_t drafts, const std::string& method) {
  const int decoded = std::max(0, s.generated - 1);  // the first token comes from the prefill
  const int64_t accepted = [&] {
    int64_t n = 0;
    for (int64_t a : s.accepted_at_depth) n += a;
    return n;
  }();
  const int evaluated = s.prompt_tokens - s.prompt_tokens_cached;
  return {
      {"prompt_n", evaluated},
      {"cache_n", s.prompt_tokens_cached},
      {"prompt_ms", 1e3 * s.prefill_seconds},
      {"prompt_per_second", s.prefill_seconds > 0 ? evaluated / s.prefill_seconds : 0.0},
      {"predicted_n", s.generated},
      {"predicted_ms", 1e3 * s.decode_seconds},
      {"predicted_per_token_ms", decoded > 0 ? 1e3 * s.decode_seconds / decoded : 0.0},
      {"predicted_per_second", s.decode_seconds > 0 && decoded > 0 ? decoded / s.decode_seconds : 0.0},
      {"steps", s.steps},
      {"tokens_per_step", s.steps > 0 ? static_cast<double>(decoded) / s.steps : 0.0},
      {"draft_n", s.nodes_verified},
      {"draft_n_accepted", accepted},
      {"drafts", drafts},
      {"draft_ms", 1e3 * s.draft_seconds},
      {"speculative_method", method},
  };
}

}  // namespace

JobOutput run_generation(Slot& slot, const GenerationJob& job, const TextSink& sink,
                         const std::atomic<bool>& cancel_all, double arrival_seconds) {
  JobOutput out;
  out.method = job.method;
  const GenerateOptions& options = job.options;
  const int64_t drafted_before = options.speculator ? options.speculator->arm_stats(0).drafted_steps : 0;

  const Tokenizer& tok = slot.context.model().tokenizer();
  Detokenizer detok(tok);
  for (int32_t id : job.prompt) detok.push(id);
  size_t pending = 0;  // tokens not yet handed to the sink
  bool client_gone = false;
  double last_token_time = -1;

  GenerationCallbacks callbacks;
  callbacks.on_token = [&](const GeneratedToken& t) {
    const double now = monotonic_seconds();
    if (last_token_time < 0) out.record.time_to_first_token = now - arrival_seconds;
    else out.record.inter_token_seconds.push_back(now - last_token_time);
    last_token_time = now;
    out.tokens.push_back({t.id, detok.push(t.id), t.drafted, t.step, t.probability});
    return !client_gone && !cancel_all.load(std::memory_order_relaxed);
  };
  callbacks.on_text = [&](std::string_view text) {
    const std::span<const EmittedToken> fresh(out.tokens.data() + pending, out.tokens.size() - pending);
    pending = out.tokens.size();
    if (!client_gone && sink && !sink(text, fresh)) client_gone = true;
  };
  out.generation = slot.generator.generate(job.prompt, options, callbacks);

  const DecodingStats& s = out.generation.stats;
  const int64_t drafts = options.speculator ? options.speculator->arm_stats(0).drafted_steps - drafted_before : 0;
  RequestRecord& r = out.record;
  r.success = out.generation.stop != StopReason::Cancelled;
  r.prompt_tokens = s.prompt_tokens;
  r.generated_tokens = s.generated;
  r.drafts = drafts;
  r.draft_tokens = s.nodes_verified;
  // Positions up to the deepest that was verified (the vectors are sized for the deepest possible).
  size_t deepest = 0;
  for (size_t d = 1; d < s.verified_at_depth.size(); ++d)
    if (s.verified_at_depth[d] > 0) deepest = d;
  for (size_t d = 1; d <= deepest && d < s.accepted_at_depth.size(); ++d) {
    r.accepted_per_position.push_back(s.accepted_at_depth[d]);
    r.accepted_tokens += s.accepted_at_depth[d];
  }
  out.timings = timings_of(s, drafts, out.method);
  return out;
}

}  // namespace aded::server
