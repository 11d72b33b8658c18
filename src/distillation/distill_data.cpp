#include "distillation/distill_data.h"

#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <set>
#include <thread>

#include "aded/decoding.h"
#include "aded/error.h"
#include "aded/mapped_file.h"
#include "aded/spec_bench.h"
#include "aded/tokenizer.h"
#include "core/output_target.h"

namespace aded::distill {

namespace {

using Clock = std::chrono::steady_clock;

bool is_jsonl(const std::string& path) {
  const auto ends = [&](std::string_view s) {
    return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0;
  };
  return ends(".jsonl") || ends(".jsonl.gz");
}

// The item's own seed: the same (prompt, sample) gets the same response in any run and order.
uint64_t item_seed(uint64_t seed, uint64_t key, uint32_t sample) {
  const uint64_t parts[3] = {seed, key, sample};
  return XXH3_64bits(parts, sizeof parts);
}

// The top k of softmax(logits) (temperature 1) sorted by probability (ties by id), and the rest.
void top_k_distribution(std::span<const float> logits, uint32_t k, std::vector<double>& probs,
                        std::vector<int32_t>& order, int32_t* ids, float* top, float* rest) {
  const size_t n = logits.size();
  const float max = *std::max_element(logits.begin(), logits.end());
  probs.resize(n);
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += probs[i] = std::exp(static_cast<double>(logits[i] - max));
  for (double& p : probs) p /= sum;
  order.resize(n);
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int32_t a, int32_t b) {
    return probs[static_cast<size_t>(a)] > probs[static_cast<size_t>(b)] ||
           (probs[static_cast<size_t>(a)] == probs[static_cast<size_t>(b)] && a < b);
  });
  double kept = 0;
  for (uint32_t i = 0; i < k; ++i) {
    ids[i] = order[i];
    top[i] = static_cast<float>(probs[static_cast<size_t>(order[i])]);
    kept += probs[static_cast<size_t>(order[i])];
  }
  *rest = static_cast<float>(std::clamp(1.0 - kept, 0.0, 1.0));
}

void check_options(const DataOptions& o) {
  if (o.target.empty()) fail("no target model given (-m)");
  if (o.prompt_files.empty()) fail("no prompts given (--prompts FILE...)");
  if (o.output.empty()) fail("no output set given (-o)");
  if (o.samples_per_prompt < 1 || o.samples_per_prompt > 1000000)
    fail("--samples-per-prompt must be between 1 and 1000000, not {}", o.samples_per_prompt);
  if (!(o.temperature >= 0 && std::isfinite(o.temperature)))
    fail("--temp must be a finite number >= 0, not {}", o.temperature);
  if (o.top_k_probs < 1) fail("--top-k-probs must be at least 1, not {}", o.top_k_probs);
  if (o.max_tokens < 1 || o.max_tokens > 1000000)
    fail("--max-tokens must be between 1 and 1000000, not {}", o.max_tokens);
  if (!(o.save_seconds >= 0 && std::isfinite(o.save_seconds)))
    fail("the save interval must be a finite number >= 0");
  std::vector<std::filesystem::path> inputs(o.prompt_files.begin(), o.prompt_files.end());
  inputs.emplace_back(o.target);
  check_output_file(o.output, inputs);
}

}  // namespace

std::vector<Prompt> read_prompts(const std::vector<std::string>& files) {
  std::vector<Prompt> prompts;
  for (const std::string& f : files) {
    if (is_jsonl(f)) {
      for (BenchPrompt& p : read_bench_prompts(f)) prompts.push_back({p.id, std::move(p.text)});
      continue;
    }
    const auto file = MappedFile::open(f);
    const auto bytes = file->bytes();
    if (bytes.empty()) fail("{}: the prompt file is empty", f);
    prompts.push_back({std::filesystem::path(f).filename().string(),
                       std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size())});
  }
  return prompts;
}

uint64_t prompt_key(const std::string& text) {
  return XXH3_64bits(text.data(), text.size());
}

SamplingParams response_sampling(float temperature, uint64_t seed) {
  SamplingParams sampling;
  sampling.temperature = temperature;
  sampling.top_k = 0;
  sampling.top_p = 1.0f;
  sampling.min_p = 0.0f;
  sampling.seed = seed;
  return sampling;
}

std::vector<int32_t> target_response(Context& ctx, const std::vector<int32_t>& prompt_tokens,
                                     const SamplingParams& sampling, uint32_t max_tokens) {
  std::vector<int32_t> tokens = prompt_tokens;
  const size_t limit = prompt_tokens.size() + max_tokens;
  {
    DecodingSession session(ctx, sampling);
    session.prefill(prompt_tokens);
    const Tokenizer& tok = ctx.model().tokenizer();
    std::vector<int32_t> step;
    // The end-of-generation token is kept: predicting where a response ends is part of it.
    bool ended = false;
    while (!ended && tokens.size() < limit) {
      step.clear();
      if (!session.step(step)) break;
      for (int32_t id : step) {
        if (tokens.size() >= limit) break;
        tokens.push_back(id);
        if (tok.is_end_of_generation(id)) {
          ended = true;
          break;
        }
      }
    }
  }
  ctx.truncate(0);
  return tokens;
}

Record make_record(Context& ctx, const std::vector<int32_t>& prompt_tokens, uint64_t key,
                   uint32_t sample, const SetInfo& info) {
  Record r;
  r.prompt_key = key;
  r.sample = sample;
  r.response_start = static_cast<uint32_t>(prompt_tokens.size());
  r.tokens = target_response(ctx, prompt_tokens,
                             response_sampling(info.temperature, item_seed(info.seed, key, sample)),
                             info.max_tokens);

  if (r.response_length() == 0) return r;
  // One forward over the whole sequence gives the distribution before every response token.
  const auto n = static_cast<int32_t>(r.tokens.size());
  Batch batch = Batch::sequence(r.tokens, 0, false);
  batch.want_logits.assign(static_cast<size_t>(n), 0);
  for (int32_t i = static_cast<int32_t>(r.response_start) - 1; i < n - 1; ++i)
    batch.want_logits[static_cast<size_t>(i)] = 1;
  ctx.forward(batch);
  const size_t positions = r.response_length(), k = info.top_k;
  r.top_ids.resize(positions * k);
  r.top_probs.resize(positions * k);
  r.rest.resize(positions);
  std::vector<double> probs;
  std::vector<int32_t> order;
  for (size_t p = 0; p < positions; ++p)
    top_k_distribution(ctx.logits(static_cast<int>(r.response_start + p) - 1),
                       static_cast<uint32_t>(k), probs, order, r.top_ids.data() + p * k,
                       r.top_probs.data() + p * k, &r.rest[p]);
  ctx.truncate(0);
  return r;
}

DataReport make_distill_set(const DataOptions& o, const DataEvents& events) {
  const auto log = [&](const std::string& line) {
    if (events.log) events.log(line);
  };
  check_options(o);
  const std::vector<Prompt> prompts = read_prompts(o.prompt_files);
  const auto model = Model::load(o.target);
  SetInfo info;
  info.n_vocab = static_cast<uint32_t>(model->config().n_vocab);
  if (static_cast<uint32_t>(o.top_k_probs) > info.n_vocab)
    fail("--top-k-probs {} is larger than the target's vocabulary ({})", o.top_k_probs,
         info.n_vocab);
  info.top_k = static_cast<uint32_t>(o.top_k_probs);
  info.max_tokens = static_cast<uint32_t>(o.max_tokens);
  info.samples_per_prompt = static_cast<uint32_t>(o.samples_per_prompt);
  info.temperature = o.temperature;
  info.seed = o.seed;
  info.target_key = target_key(*model);
  info.target_name = std::filesystem::path(o.target).filename().string();

  DataReport report;
  DistillSet set;
  set.info = info;
  if (std::filesystem::exists(o.output) && std::filesystem::is_regular_file(o.output)) {
    set = read_set(o.output);
    const std::string diff = info.difference(set.info);
    if (!diff.empty())
      fail(
          "{} is a distillation set made differently ({}): give the same settings to continue "
          "it, or another -o",
          o.output, diff);
    set.info.target_name = info.target_name;
    report.records_before = set.records.size();
  }
  std::set<std::pair<uint64_t, uint32_t>> done;
  for (const Record& r : set.records) done.insert({r.prompt_key, r.sample});

  ContextOptions copts;
  copts.n_threads = o.threads;
  Context ctx(model, copts);
  // The work: every (prompt, sample) not in the set yet; a prompt given twice counts once.
  struct Item {
    size_t prompt;
    uint64_t key;
    uint32_t sample;
  };
  std::vector<Item> items;
  std::vector<std::vector<int32_t>> tokens(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    const uint64_t key = prompt_key(prompts[i].text);
    tokens[i] = model->tokenizer().encode(prompts[i].text, /*add_bos=*/true);
    if (tokens[i].empty()) fail("prompt {}: no tokens (the vocabulary has no BOS)", prompts[i].id);
    if (tokens[i].size() + static_cast<size_t>(o.max_tokens) > static_cast<size_t>(ctx.n_ctx())) {
      log(fmt::format(
          "skipping prompt {}: {} tokens and --max-tokens {} do not fit the context of {}",
          prompts[i].id, tokens[i].size(), o.max_tokens, ctx.n_ctx()));
      ++report.prompts_too_long;
      continue;
    }
    for (uint32_t s = 0; s < info.samples_per_prompt; ++s)
      if (done.insert({key, s}).second) items.push_back({i, key, s});
  }
  log(fmt::format("{} prompts x {} samples: {} in {} already, {} to make", prompts.size(),
                  o.samples_per_prompt, report.records_before, o.output, items.size()));

  const auto start = Clock::now();
  auto last_save = start;
  DataProgress progress;
  progress.items_total = items.size();
  bool dirty = false;
  for (const Item& item : items) {
    if (events.stop_requested && events.stop_requested()) {
      report.interrupted = true;
      break;
    }
    Record record = make_record(ctx, tokens[item.prompt], item.key, item.sample, set.info);
    if (record.response_length() == 0) continue;  // nothing generated (cannot happen in budget)
    set.records.push_back(std::move(record));
    dirty = true;
    ++report.records_added;
    report.tokens_added += set.records.back().response_length();
    progress.items_done = report.records_added;
    progress.tokens = report.tokens_added;
    progress.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (events.progress) events.progress(progress);
    if (std::chrono::duration<double>(Clock::now() - last_save).count() >= o.save_seconds) {
      write_set(o.output, set);
      dirty = false;
      last_save = Clock::now();
    }
  }
  if (dirty || !std::filesystem::exists(o.output)) write_set(o.output, set);
  report.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return report;
}

}  // namespace aded::distill
