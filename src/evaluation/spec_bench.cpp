#include "aded/spec_bench.h"

#include <algorithm>

#include "aded/error.h"
#include "aded/generator.h"
#include "core/stopwatch.h"

namespace aded {

namespace {

// Every method produces exactly n tokens (end-of-generation tokens do not stop it), from an empty
// cache.
Generation generate(Generator& generator, const std::vector<int32_t>& prompt, const MethodSetup& m, int n,
                    const SamplingParams& sampling, double& seconds) {
  GenerateOptions o;
  o.sampling = sampling;
  o.speculator = m.speculator.get();
  o.max_new_tokens = n;
  o.stop_at_end_of_generation = false;
  o.reuse_prefix = false;  // every method pays for its prefill alike
  const Stopwatch start;
  Generation g = generator.generate(prompt, o);
  seconds = start.seconds();
  return g;
}

}  // namespace

void MethodTotals::add(const DecodingStats& s, double wall_seconds, bool same_as_plain) {
  ++prompts;
  tokens += s.generated;
  steps += s.steps;
  nodes_verified += s.nodes_verified;
  for (const int64_t n : s.accepted_at_depth) nodes_accepted += n;
  seconds += wall_seconds;
  decode_seconds += s.decode_seconds;
  draft_seconds += s.draft_seconds;
  verify_seconds += s.verify_seconds;
  nodes_sampled += s.nodes_sampled;
  identical = identical && same_as_plain;
}

double MethodTotals::decode_tokens_per_second() const {
  // The first token of each prompt comes from the prefill.
  return decode_seconds > 0 ? static_cast<double>(tokens - prompts) / decode_seconds : 0;
}

double MethodTotals::tokens_per_step() const {
  return steps ? static_cast<double>(tokens - prompts) / static_cast<double>(steps) : 0;
}

SpecBenchResult run_spec_bench(Context& ctx, const Tokenizer& tokenizer, std::vector<MethodSetup>& methods,
                               const std::vector<BenchPrompt>& prompts, const SpecBenchOptions& o) {
  if (methods.empty() || methods[0].speculator) throw Error("bench-spec: the first method must be plain decoding");
  SpecBenchResult r;
  for (const auto& m : methods) r.methods.push_back(m.name);
  int max_nodes = 0;
  for (const auto& m : methods)
    if (m.speculator) max_nodes = std::max(max_nodes, m.speculator->max_nodes());
  std::vector<std::vector<int32_t>> tokenized;
  for (const auto& p : prompts) {
    auto ids = tokenizer.encode(p.text, true);
    const int64_t needed = static_cast<int64_t>(ids.size()) + o.max_new_tokens + max_nodes + 2;
    if (needed > ctx.n_ctx())
      fail("prompt {} is {} tokens: with {} new tokens and drafts of {} it needs a context of {}, more than {} (use -c)",
           p.id, ids.size(), o.max_new_tokens, max_nodes, needed, ctx.n_ctx());
    tokenized.push_back(std::move(ids));
  }
  const size_t total = prompts.size() * methods.size() + (o.warmup ? methods.size() : 0);
  size_t done = 0;
  Generator generator(ctx);
  // Oracle drafters follow the plain output of the prompt at hand.
  const auto set_reference = [&](const std::vector<int32_t>& prompt, const std::vector<int32_t>& out) {
    if (!o.reference) return;
    *o.reference = prompt;
    o.reference->insert(o.reference->end(), out.begin(), out.end());
  };
  if (o.warmup) {
    for (size_t k = 0; k < methods.size(); ++k) {
      if (o.progress) o.progress(done, total, "warm-up " + methods[k].name);
      double sec;
      const Generation g = generate(generator, tokenized[0], methods[k], o.max_new_tokens, o.sampling, sec);
      if (k == 0) set_reference(tokenized[0], g.tokens);
      ++done;
    }
  }
  for (size_t i = 0; i < prompts.size(); ++i) {
    PromptResult pr{prompts[i].id, prompts[i].category, {}};
    std::vector<int32_t> reference;
    for (size_t k = 0; k < methods.size(); ++k) {
      if (o.progress) o.progress(done, total, prompts[i].id + " " + methods[k].name);
      double sec = 0;
      const Generation g = generate(generator, tokenized[i], methods[k], o.max_new_tokens, o.sampling, sec);
      if (k == 0) {
        reference = g.tokens;
        set_reference(tokenized[i], g.tokens);
      }
      const bool same = g.tokens == reference;
      // Sampled drafts (possible only when sampling) give another exact sample of the target.
      if (!same && g.stats.nodes_sampled == 0) {
        r.all_identical = false;
        r.mismatches.push_back(prompts[i].id + ": " + methods[k].name);
      }
      pr.methods[methods[k].name].add(g.stats, sec, same);
      r.by_category[prompts[i].category][methods[k].name].add(g.stats, sec, same);
      r.overall[methods[k].name].add(g.stats, sec, same);
      ++done;
    }
    r.prompts.push_back(std::move(pr));
  }
  if (o.progress) o.progress(done, total, "done");
  return r;
}

}  // namespace aded
