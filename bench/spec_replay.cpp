// Replays drafters against recorded greedy continuations, without running the model: under
// greedy decoding the target's output is fixed, so which draft tokens it accepts is decided by
// the recorded continuation alone. Tokens/step and nodes/step come out exactly as in a real run
// (given the same budget decisions), in seconds instead of minutes; the speedup is estimated from
// a cost curve given on the command line. Used to design and tune drafters (docs/benchmarks.md).
//
//   aded_spec_replay record -m MODEL.gguf --prompts FILE.jsonl[.gz] -n 256 -o SEQS.txt
//   aded_spec_replay replay -m MODEL.gguf --seqs SEQS.txt --costs 1:1.52,4:2.11,8:3.66,16:4.88
//       --methods pld,aded,aded:search=mcts [--ngram TABLE.bin] [-n 256]
//   aded_spec_replay corpus-probe -m MODEL.gguf --seqs SEQS.txt --corpus FILE... (corpus_probe.h)
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <sstream>

#include "aded/context.h"
#include "aded/drafter_registry.h"
#include "aded/error.h"
#include "aded/generator.h"
#include "aded/model.h"
#include "aded/spec_bench.h"
#include "aded/tree_verifier.h"
#include "core/stopwatch.h"
#include "corpus_probe.h"
#include "recorded_sequences.h"
#include "spec_options.h"

namespace {

using namespace aded;

void record(const std::string& model_path, const std::string& prompts_path, int n, const std::string& out_path) {
  const auto model = Model::load(model_path);
  const auto prompts = read_bench_prompts(prompts_path);
  std::ofstream out(out_path);
  if (!out) fail("{}: cannot write", out_path);
  ContextOptions o;
  size_t longest = 0;
  for (const auto& p : prompts) longest = std::max(longest, model->tokenizer().encode(p.text, true).size());
  o.n_ctx = static_cast<int>(longest) + n + 2;
  Context ctx(model, o);
  Generator generator(ctx);
  GenerateOptions g;
  g.sampling.temperature = 0;
  g.max_new_tokens = n;
  g.stop_at_end_of_generation = false;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const auto ids = model->tokenizer().encode(prompts[i].text, true);
    const Generation result = generator.generate(ids, g);
    out << prompts[i].id << '\t' << ids.size();
    for (int32_t t : ids) out << ' ' << t;
    for (int32_t t : result.tokens) out << ' ' << t;
    out << '\n';
    fmt::print(stderr, "\rrecorded {}/{}", i + 1, prompts.size());
  }
  fmt::print(stderr, "\n");
}

std::map<int, double> parse_costs(const std::string& s) {
  std::map<int, double> costs;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const auto colon = item.find(':');
    if (colon == std::string::npos) fail("--costs: '{}' should be n:milliseconds", item);
    costs[std::stoi(item.substr(0, colon))] = std::stod(item.substr(colon + 1));
  }
  if (!costs.count(1)) fail("--costs needs the cost of n = 1");
  return costs;
}

void replay(const std::string& model_path, const std::string& seqs_path, const std::string& costs_arg,
            const std::string& methods, const cli::SpecFlags& flags, int n) {
  const auto model = Model::load(model_path);
  const auto seqs = read_recorded(seqs_path);
  const auto costs = parse_costs(costs_arg);
  const DrafterRegistry& registry = cli::drafter_registry();
  DrafterEnvironment env(model.get());
  fmt::print("| method | tokens/step | nodes/step | steps accepting nothing | draft ms/step | estimated speedup |\n|---|--:|--:|--:|--:|--:|\n");
  std::stringstream list(methods);
  std::string name;
  while (std::getline(list, name, ',')) {
    const MethodChoice choice = registry.parse(name, flags.settings);
    const auto speculator = registry.make_speculator(choice, env);
    double spec_time = 0, plain_time = 0, draft_seconds = 0;
    int64_t steps = 0, tokens = 0, nodes = 0, empty_steps = 0;
    CostCurve curve(257);  // what the replay charges per forward; the speculator plans with the same
    for (const auto& [k, ms] : costs) {
      curve.record(k, ms / 1e3);
      if (speculator) speculator->target_cost().record(k, ms / 1e3);
    }
    const auto cost = [&](int size) { return curve.at(size); };
    for (const Recorded& r : seqs) {
      const size_t end = std::min(r.tokens.size(), r.prompt_tokens + static_cast<size_t>(n));
      std::vector<int32_t> context(r.tokens.begin(), r.tokens.begin() + static_cast<long>(r.prompt_tokens) + 1);
      if (speculator) {
        speculator->begin(std::span<const int32_t>(r.tokens.data(), r.prompt_tokens));
        speculator->observe_prefill(context);
      }
      while (context.size() < end) {
        DraftTree tree;
        const Stopwatch draft_start;
        if (speculator) speculator->draft(context, choice.limits.max_nodes, tree);
        draft_seconds += draft_start.seconds();
        // The target accepts the path that follows the recorded continuation, then adds its token.
        VerifyResult result;
        int32_t node = DraftTree::kRoot;
        size_t at = context.size();
        for (; at < r.tokens.size(); ++at) {
          const int child = tree.find_child(node, r.tokens[at]);
          if (child < 0) break;
          result.accepted_nodes.push_back(child);
          result.emitted.push_back(r.tokens[at]);
          node = child;
        }
        if (at < r.tokens.size()) result.emitted.push_back(r.tokens[at]);
        if (result.emitted.empty()) break;
        const double verify = cost(tree.size() + 1);
        spec_time += verify;
        plain_time += cost(1) * static_cast<double>(result.emitted.size());
        nodes += tree.size();
        empty_steps += result.accepted_nodes.empty() ? 1 : 0;
        ++steps;
        tokens += static_cast<int64_t>(result.emitted.size());
        context.insert(context.end(), result.emitted.begin(), result.emitted.end());
        const Stopwatch observe_start;
        if (speculator) speculator->observe(context, tree, result, verify);
        draft_seconds += observe_start.seconds();
      }
      if (speculator) speculator->end();
    }
    const double s = static_cast<double>(steps);
    fmt::print("| {} | {:.3f} | {:.2f} | {:.1f}% | {:.3f} | {:.2f}x |\n", name, static_cast<double>(tokens) / s,
               static_cast<double>(nodes) / s, 100.0 * static_cast<double>(empty_steps) / s, 1e3 * draft_seconds / s,
               plain_time / (spec_time + draft_seconds));
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Replay drafters against recorded greedy continuations (no model forward passes)"};
  app.require_subcommand(1);
  std::string model, prompts, out, seqs, costs, methods = "pld,aded";
  int n = 256;
  cli::SpecFlags flags;
  auto* rec = app.add_subcommand("record", "record the plain greedy continuation of every prompt");
  rec->add_option("-m,--model", model, "GGUF model")->required();
  rec->add_option("--prompts", prompts, "Spec-Bench or HumanEval .jsonl(.gz)")->required();
  rec->add_option("-n,--n-predict", n, "new tokens per prompt")->capture_default_str();
  rec->add_option("-o,--output", out, "file to write")->required();
  auto* rep = app.add_subcommand("replay", "simulate drafters on recorded continuations");
  rep->add_option("-m,--model", model, "GGUF model (its vocabulary checks the table)")->required();
  rep->add_option("--seqs", seqs, "file written by record")->required();
  rep->add_option("--costs", costs, "cost curve n:ms,... (from aded bench), n = 1 required")->required();
  rep->add_option("--methods", methods, "methods and variants, as bench-spec")->capture_default_str();
  rep->add_option("-n,--n-predict", n, "new tokens per prompt")->capture_default_str();
  cli::add_spec_options(*rep, flags, /*method_flag=*/false);
  std::vector<std::string> corpus;
  CorpusProbeOptions probe_options;
  auto* probe = app.add_subcommand("corpus-probe", "how well corpus statistics predict recorded continuations (no drafting)");
  probe->add_option("-m,--model", model, "GGUF model (its tokenizer reads the corpus)")->required();
  probe->add_option("--seqs", seqs, "file written by record")->required();
  probe->add_option("--corpus", corpus, "corpus text files")->required();
  probe->add_option("--max-order", probe_options.max_order, "longest corpus context, tokens")->capture_default_str();
  probe->add_option("--min-occurrences", probe_options.min_occurrences, "occurrences a context above 2 tokens needs")->capture_default_str();
  probe->add_option("--request-order", probe_options.request_order, "match length at which the request text counts as predicting")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    if (*rec)
      record(model, prompts, n, out);
    else if (*probe)
      run_corpus_probe(Model::load(model)->tokenizer(), corpus, read_recorded(seqs), probe_options);
    else
      replay(model, seqs, costs, methods, flags, n);
  } catch (const std::exception& e) {
    fmt::print(stderr, "aded_spec_replay: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
