#include "aded/spec_bench.h"

#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "aded/error.h"
#include "aded/generator.h"

namespace aded {

namespace {

std::string read_maybe_gzipped(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) fail("{}: cannot open", path);
  std::string out;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  int err = 0;
  const char* msg = gzerror(f, &err);
  const std::string message = msg ? msg : "";
  gzclose(f);
  if (n < 0 || (err != Z_OK && err != Z_STREAM_END)) fail("{}: read error: {}", path, message);
  return out;
}

// Every method produces exactly n tokens (end-of-generation tokens do not stop it), greedy, from
// an empty cache.
Generation generate(Generator& generator, const std::vector<int32_t>& prompt, const MethodSetup& m, int n,
                    double& seconds) {
  GenerateOptions o;
  o.sampling.temperature = 0;
  o.speculator = m.speculator.get();
  o.max_new_tokens = n;
  o.stop_at_end_of_generation = false;
  o.reuse_prefix = false;  // every method pays for its prefill alike
  const auto start = std::chrono::steady_clock::now();
  Generation g = generator.generate(prompt, o);
  seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return g;
}

}  // namespace

std::vector<BenchPrompt> read_bench_prompts(const std::string& path) {
  const std::string text = read_maybe_gzipped(path);
  std::vector<BenchPrompt> prompts;
  size_t line_no = 0, start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + start, end - start);
    start = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      fail("{}: line {}: not valid JSON ({})", path, line_no, e.what());
    }
    if (!j.is_object()) fail("{}: line {}: expected a JSON object", path, line_no);
    BenchPrompt p;
    if (j.contains("turns") && j["turns"].is_array() && !j["turns"].empty() && j["turns"][0].is_string())
      p.text = j["turns"][0].get<std::string>();
    else if (j.contains("prompt") && j["prompt"].is_string())
      p.text = j["prompt"].get<std::string>();
    else
      fail("{}: line {}: needs a \"turns\" array or a \"prompt\" string", path, line_no);
    if (j.contains("category") && j["category"].is_string()) p.category = j["category"].get<std::string>();
    if (j.contains("task_id") && j["task_id"].is_string())
      p.id = j["task_id"].get<std::string>();
    else if (j.contains("question_id"))
      p.id = j["question_id"].dump();
    else
      p.id = std::to_string(line_no);
    prompts.push_back(std::move(p));
  }
  if (prompts.empty()) fail("{}: no prompts", path);
  const bool any = std::any_of(prompts.begin(), prompts.end(), [](const BenchPrompt& p) { return !p.category.empty(); });
  for (auto& p : prompts)
    if (p.category.empty()) p.category = any ? "other" : "all";
  return prompts;
}

void MethodTotals::add(const DecodingStats& s, double wall_seconds, bool same_as_plain) {
  ++prompts;
  tokens += s.generated;
  steps += s.steps;
  nodes_verified += s.nodes_verified;
  seconds += wall_seconds;
  decode_seconds += s.decode_seconds;
  draft_seconds += s.draft_seconds;
  verify_seconds += s.verify_seconds;
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
      const Generation g = generate(generator, tokenized[0], methods[k], o.max_new_tokens, sec);
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
      const Generation g = generate(generator, tokenized[i], methods[k], o.max_new_tokens, sec);
      if (k == 0) {
        reference = g.tokens;
        set_reference(tokenized[i], g.tokens);
      }
      const bool same = g.tokens == reference;
      if (!same) {
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
