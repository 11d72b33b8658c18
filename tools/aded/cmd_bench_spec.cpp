#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "aded/drafter_registry.h"
#include "aded/error.h"
#include "aded/model.h"
#include "aded/request_features.h"
#include "aded/selection_policy.h"
#include "aded/spec_bench.h"
#include "bench_spec_plot.h"
#include "commands.h"
#include "common_options.h"
#include "core/output_file.h"
#include "progress_line.h"
#include "spec_options.h"

namespace aded::cli {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep))
    if (!item.empty()) out.push_back(item);
  return out;
}

nlohmann::json totals_json(const MethodTotals& t, const MethodTotals& plain) {
  return {{"prompts", t.prompts},
          {"tokens", t.tokens},
          {"seconds", t.seconds},
          {"tokens_per_s", t.tokens_per_second()},
          {"decode_tokens_per_s", t.decode_tokens_per_second()},
          {"speedup",
           plain.tokens_per_second() > 0 ? t.tokens_per_second() / plain.tokens_per_second() : 0},
          {"tokens_per_step", t.tokens_per_step()},
          {"nodes_verified_per_step",
           t.steps ? static_cast<double>(t.nodes_verified) / static_cast<double>(t.steps) : 0},
          {"acceptance", t.acceptance()},
          {"draft_ms", t.draft_ms_per_step()},
          {"verify_ms", t.verify_ms_per_step()},
          {"identical", t.identical},
          {"sampled_drafts", t.nodes_sampled}};
}

void print_table(const SpecBenchResult& r) {
  fmt::print(
      "| category | method | prompts | tokens | tokens/s | speedup | decode tokens/s | tokens/step "
      "| acceptance | draft ms/step | "
      "verify ms/step | identical |\n|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n");
  auto rows = [&](const std::string& category,
                  const std::map<std::string, MethodTotals>& by_method) {
    const MethodTotals& plain = by_method.at(r.methods[0]);
    for (const auto& name : r.methods) {
      const MethodTotals& t = by_method.at(name);
      fmt::print(
          "| {} | {} | {} | {} | {:.1f} | {:.2f}x | {:.1f} | {:.2f} | {:.2f} | {:.3f} | {:.2f} | "
          "{} |\n",
          category, name, t.prompts, t.tokens, t.tokens_per_second(),
          t.tokens_per_second() / plain.tokens_per_second(), t.decode_tokens_per_second(),
          t.tokens_per_step(), t.acceptance(), t.draft_ms_per_step(), t.verify_ms_per_step(),
          t.identical ? "yes" : t.nodes_sampled > 0 ? "no: sampled drafts" : "NO");
    }
  };
  for (const auto& [category, by_method] : r.by_category) rows(category, by_method);
  if (r.by_category.size() > 1) rows("overall", r.overall);
}

// One row per prompt: each method's speedup over plain decoding and tokens per step.
void print_prompt_table(const SpecBenchResult& r) {
  fmt::print("\n| prompt |");
  for (size_t m = 1; m < r.methods.size(); ++m)
    fmt::print(" {} speedup | {} tokens/step |", r.methods[m], r.methods[m]);
  fmt::print("\n|---|");
  for (size_t m = 1; m < r.methods.size(); ++m) fmt::print("--:|--:|");
  fmt::print("\n");
  for (const PromptResult& p : r.prompts) {
    const MethodTotals& plain = p.methods.at(r.methods[0]);
    fmt::print("| {} |", p.id);
    for (size_t m = 1; m < r.methods.size(); ++m) {
      const MethodTotals& t = p.methods.at(r.methods[m]);
      fmt::print(" {:.2f}x | {:.2f} |", t.tokens_per_second() / plain.tokens_per_second(),
                 t.tokens_per_step());
    }
    fmt::print("\n");
  }
}

// The table the features of a selection log read: that of the first aded method with one.
std::string feature_table_path(const std::vector<MethodChoice>& choices) {
  for (const auto& c : choices) {
    if (c.method == "aded" && !c.settings.text("ngram").empty()) return c.settings.text("ngram");
    for (const auto& m : c.members)
      if (m.method == "aded" && !m.settings.text("ngram").empty()) return m.settings.text("ngram");
  }
  return {};
}

// One row per prompt and single method (composites and the oracle are not arms): the request's
// features and its decoding speed-up over plain decoding on the same prompt.
std::string selection_log(const SpecBenchResult& r, const std::vector<BenchPrompt>& prompts, const Model& model,
                          double temperature, const std::string& table_path, DrafterEnvironment& env) {
  const TrigramTable* table = table_path.empty() ? nullptr : env.table(table_path, 0).get();
  std::string out;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const PromptResult& p = r.prompts[i];
    const double plain = p.methods.at(r.methods[0]).decode_tokens_per_second();
    if (!(plain > 0)) continue;
    SelectionLogRow row;
    row.prompt = p.id;
    row.category = p.category;
    row.table = table_path.empty() ? "" : std::filesystem::path(table_path).filename().string();
    row.features = request_features(model.tokenizer().encode(prompts[i].text, true), temperature, table);
    for (const auto& name : r.methods) {
      const std::string method = name.substr(0, name.find(':'));
      if (method == "union" || method == "select" || method == "auto" || method == "oracle") continue;
      row.arm = name;
      row.reward = p.methods.at(name).decode_tokens_per_second() / plain;
      out += selection_log_line(row);
    }
  }
  return out;
}

}  // namespace

Command add_bench_spec(CLI::App& app) {
  struct Options {
    ModelOptions model;
    std::string prompts, methods = "none,pld,aded", json, plot, select_log, regret_plot;
    int n = 256;
    int limit = 0;
    SpecFlags spec;
    bool per_prompt = false;
    float temperature = 0;
    uint64_t seed = 1;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("bench-spec",
                                 "Benchmark speculative decoding methods side by side on a prompt "
                                 "set (every output checked against plain decoding)");
  add_model_options(*cmd, o->model);
  cmd->add_option("--prompts", o->prompts, "prompts: Spec-Bench or HumanEval .jsonl(.gz)")
      ->required();
  cmd->add_option("--methods", o->methods,
                  "comma-separated methods with optional settings, e.g. "
                  "none,pld,aded,aded:paper,aded:top-k=4 "
                  "(none is always run first); oracle drafts the plain output itself (a perfect "
                  "drafter: the "
                  "ceiling verification allows, e.g. oracle:max=4:budget=fixed)")
      ->capture_default_str();
  cmd->add_option("-n,--n-predict", o->n, "new tokens per prompt")
      ->check(int_range(1, 1 << 16))
      ->capture_default_str();
  cmd->add_option("--limit", o->limit, "first K prompts only (0: all)")
      ->check(int_range(0, 1 << 20));
  cmd->add_option("--json", o->json, "write results as JSON");
  cmd->add_option("--plot", o->plot,
                  "draw speedup and tokens per target forward per category into an .svg or .png "
                  "file (needs gnuplot)")
      ->check(image_file_name());
  cmd->add_option("--regret-plot", o->regret_plot,
                  "draw the time select, auto and union methods lose against the best single "
                  "method of each prompt's category, over the prompts (.svg or .png, needs gnuplot)")
      ->check(image_file_name());
  cmd->add_flag("--per-prompt", o->per_prompt, "also print a table with one row per prompt");
  cmd->add_option("--select-log", o->select_log,
                  "write a selection log: per prompt and single method, the request's features and "
                  "its speed-up, for 'aded select train' (docs/selection.md)");
  cmd->add_option("--temp", o->temperature,
                  "sampling temperature (0: greedy); with top-k 40, top-p 0.95, min-p 0.05 as in "
                  "aded run. Deterministic drafts must still give the plain tokens; sampled drafts "
                  "(model drafters) give another exact sample")
      ->check(CLI::Range(0.0f, 100.0f))
      ->capture_default_str();
  cmd->add_option("-s,--seed", o->seed, "random seed of the sampling")->capture_default_str();
  add_spec_options(*cmd, o->spec, /*method_flag=*/false);
  return {
      cmd, [o] {
        // Every method string is checked before anything slow happens.
        std::vector<MethodChoice> choices = {drafter_registry().parse("none", o->spec.settings)};
        for (const auto& name : split(o->methods, ',')) {
          if (name == "none") continue;
          for (const auto& c : choices)
            if (c.text == name) fail("--methods: '{}' is listed twice", name);
          choices.push_back(drafter_registry().parse(name, o->spec.settings));
        }
        if (!o->json.empty()) check_output_path(o->json, "--json", {o->model.path, o->prompts});
        if (!o->plot.empty()) check_output_path(o->plot, "--plot", {o->model.path, o->prompts});
        if (!o->select_log.empty()) check_output_path(o->select_log, "--select-log", {o->model.path, o->prompts});
        if (!o->regret_plot.empty()) {
          check_output_path(o->regret_plot, "--regret-plot", {o->model.path, o->prompts});
          // Its methods are checked now, on an empty result of the same methods, not after the run.
          SpecBenchResult shape;
          for (const auto& c : choices) {
            shape.methods.push_back(c.text);
            shape.overall[c.text] = {};
          }
          regret_chart(shape, {});
        }
        auto prompts = read_bench_prompts(o->prompts);
        if (o->limit > 0 && static_cast<size_t>(o->limit) < prompts.size())
          prompts.resize(static_cast<size_t>(o->limit));
        auto model = load_model(o->model);
        ContextOptions copts = context_options(o->model);
        if (copts.n_ctx == 0) {
          // Room for the longest prompt, its new tokens and the largest draft of any method.
          size_t longest = 0;
          for (const auto& p : prompts)
            longest = std::max(longest, model->tokenizer().encode(p.text, true).size());
          int max_nodes = 0;
          for (const auto& c : choices) max_nodes = std::max(max_nodes, c.limits.max_nodes);
          const int64_t needed = static_cast<int64_t>(longest) + o->n + max_nodes + 2;
          if (needed > (1 << 22))
            fail(
                "the longest prompt ({} tokens) with {} new tokens needs a context of {} tokens, "
                "too many",
                longest, o->n, needed);
          copts.n_ctx = static_cast<int>(needed);
          if (copts.n_ctx > model->config().ctx_train)
            fmt::print(stderr, "note: context {} exceeds the model's training context {}\n",
                       copts.n_ctx, model->config().ctx_train);
        }
        Context ctx(model, copts);
        DrafterEnvironment env(model.get(), &ctx);
        auto reference = std::make_shared<std::vector<int32_t>>();
        env.reference = reference;  // what oracle drafters follow
        std::vector<MethodSetup> methods;
        for (const auto& c : choices)
          methods.push_back({c.text, drafter_registry().make_speculator(c, env)});
        SpecBenchOptions bo;
        bo.max_new_tokens = o->n;
        bo.sampling = SamplingParams{};
        bo.sampling.temperature = o->temperature;
        bo.sampling.seed = o->seed;
        bo.reference = reference;
        ProgressLine progress;
        bo.progress = [&progress](size_t done, size_t total, const std::string& what) {
          progress.update(
              fmt::format("{} {}/{} {}", ProgressLine::bar(done, total), done, total, what),
              done == total);
        };
        const SpecBenchResult r = run_spec_bench(ctx, model->tokenizer(), methods, prompts, bo);
        fmt::print("model: {} | prompts: {} ({}) | new tokens: {} | threads: {} | {}\n\n",
                   o->model.path, prompts.size(), o->prompts, o->n, ctx.pool().size(),
                   o->temperature > 0 ? fmt::format("temperature {:g}, seed {}", o->temperature, o->seed)
                                      : std::string("greedy"));
        print_table(r);
        // Methods with several arms: which drafted how often.
        for (const auto& m : methods) {
          if (!m.speculator || m.speculator->arms() < 2) continue;
          int64_t total = 0;
          for (int a = 0; a < m.speculator->arms(); ++a) total += m.speculator->arm_stats(a).steps;
          std::string list;
          for (int a = 0; a < m.speculator->arms(); ++a)
            list += fmt::format("{}{} {:.0f}%", list.empty() ? "" : ", ", m.speculator->arm_name(a),
                                total ? 100.0 * static_cast<double>(m.speculator->arm_stats(a).steps) / static_cast<double>(total) : 0.0);
          fmt::print("\n{}: steps by arm (warm-up included): {}\n", m.name, list);
        }
        if (o->per_prompt) print_prompt_table(r);
        if (!o->json.empty()) {
          nlohmann::json j;
          j["model"] = o->model.path;
          j["prompts_file"] = o->prompts;
          j["new_tokens"] = o->n;
          j["threads"] = ctx.pool().size();
          j["temperature"] = o->temperature;
          j["seed"] = o->seed;
          j["methods"] = r.methods;
          j["identical"] = r.all_identical;
          j["mismatches"] = r.mismatches;
          for (const auto& name : r.methods)
            j["overall"][name] = totals_json(r.overall.at(name), r.overall.at(r.methods[0]));
          for (const auto& [c, by] : r.by_category)
            for (const auto& name : r.methods)
              j["categories"][c][name] = totals_json(by.at(name), by.at(r.methods[0]));
          for (const auto& p : r.prompts) {
            nlohmann::json pj{{"id", p.id}, {"category", p.category}};
            for (const auto& name : r.methods)
              pj[name] = totals_json(p.methods.at(name), p.methods.at(r.methods[0]));
            j["prompts"].push_back(pj);
          }
          write_output_file(o->json, j.dump(2) + "\n");
        }
        if (!o->select_log.empty())
          write_output_file(o->select_log, selection_log(r, prompts, *model, o->temperature,
                                                         feature_table_path(choices), env));
        const SpecBenchRunInfo info{o->model.path, o->prompts, prompts.size(), o->n, ctx.pool().size(), o->temperature};
        if (!o->plot.empty()) render_chart(spec_bench_chart(r, info), o->plot);
        if (!o->regret_plot.empty()) render_chart(regret_chart(r, info), o->regret_plot);
        if (!r.all_identical) {
          std::string list;
          for (const auto& m : r.mismatches) list += (list.empty() ? "" : ", ") + m;
          fail("speculative output differs from plain decoding (a bug): {}", list);
        }
        return 0;
      }};
}

}  // namespace aded::cli
