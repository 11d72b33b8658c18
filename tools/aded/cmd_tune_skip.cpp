// aded tune-skip: the skip set of self-speculative decoding found by Bayesian optimization
// (include/aded/skip_search.h), each candidate measured as the tokens/s of greedy self-speculative
// decoding on a few prompts (Draft & Verify measured 8 prompts of 32 tokens, our defaults) over
// plain decoding of the same prompts, each measured right beside it.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>

#include "aded/error.h"
#include "aded/generator.h"
#include "aded/model_drafters.h"
#include "aded/plot.h"
#include "aded/skip_search.h"
#include "aded/spec_bench.h"
#include "bench_spec_plot.h"
#include "commands.h"
#include "common_options.h"
#include "core/output_file.h"
#include "progress_line.h"
#include "spec_options.h"

namespace aded::cli {

namespace {

struct Measured {
  double tokens_per_second = 0;  // decoding only: the prefill is the same for every skip set
  double tokens_per_step = 0;
  double acceptance = 0;              // of the drafted tokens verified, the share accepted
  double seconds_per_token = 0;       // decoding time per generated token
  double draft_seconds_per_node = 0;  // drafting time per drafted token verified
  std::vector<std::vector<int32_t>> outputs;

  int64_t tokens = 0, steps = 0, verified = 0, accepted = 0;
  double seconds = 0, drafting = 0;

  void add(Generation out) {
    tokens += out.stats.generated;
    steps += out.stats.steps;
    seconds += out.stats.decode_seconds;
    drafting += out.stats.draft_seconds;
    verified += out.stats.nodes_verified;
    for (const int64_t a : out.stats.accepted_at_depth) accepted += a;
    outputs.push_back(std::move(out.tokens));
    tokens_per_second = seconds > 0 ? static_cast<double>(tokens) / seconds : 0;
    tokens_per_step = steps > 0 ? static_cast<double>(tokens) / static_cast<double>(steps) : 0;
    acceptance = verified > 0 ? static_cast<double>(accepted) / static_cast<double>(verified) : 0;
    seconds_per_token = tokens > 0 ? seconds / static_cast<double>(tokens) : 0;
    draft_seconds_per_node = verified > 0 ? drafting / static_cast<double>(verified) : 0;
  }
};

GenerateOptions greedy(int n, Speculator* speculator) {
  GenerateOptions g;
  g.sampling.temperature = 0;
  g.speculator = speculator;
  g.max_new_tokens = n;
  g.stop_at_end_of_generation = false;
  g.reuse_prefix = false;
  return g;
}

Measured measure(Generator& generator, const std::vector<std::vector<int32_t>>& prompts, int n,
                 Speculator* speculator) {
  Measured m;
  for (const auto& prompt : prompts) m.add(generator.generate(prompt, greedy(n, speculator)));
  return m;
}

// Plain and speculative decoding of each prompt one right after the other, so the machine's drift
// (by 2x and more within a minute on 2 shared cores) hits both alike. The speedup is the median
// over prompts of plain decoding time over speculative decoding time, robust to a burst of load.
struct Comparison {
  Measured plain, speculative;
  double speedup = 0;
};

Comparison compare(Generator& generator, const std::vector<std::vector<int32_t>>& prompts, int n,
                   Speculator* speculator) {
  Comparison c;
  std::vector<double> ratios;
  for (const auto& prompt : prompts) {
    const double plain_before = c.plain.seconds, speculative_before = c.speculative.seconds;
    c.plain.add(generator.generate(prompt, greedy(n, nullptr)));
    c.speculative.add(generator.generate(prompt, greedy(n, speculator)));
    const double spent = c.speculative.seconds - speculative_before;
    if (spent > 0) ratios.push_back((c.plain.seconds - plain_before) / spent);
  }
  if (!ratios.empty()) {
    std::sort(ratios.begin(), ratios.end());
    const size_t h = ratios.size() / 2;
    c.speedup = ratios.size() % 2 ? ratios[h] : 0.5 * (ratios[h - 1] + ratios[h]);
  }
  return c;
}

Chart convergence_chart(const std::vector<SkipObservation>& history, const std::string& model,
                        size_t prompts, int n, int threads, double seconds) {
  Panel p;
  p.title = "Bayesian optimization of the skip set";
  p.kind = PanelKind::kLines;
  p.x_label = "skip sets measured";
  p.y_label = "speedup over plain decoding (x)";
  Series each{"each skip set", {}, {}, "#90CAF9"}, best{"best so far", {}, {}, "#1565C0"};
  double top = 0;
  for (size_t i = 0; i < history.size(); ++i) {
    top = i == 0 ? history[i].value : std::max(top, history[i].value);
    each.x.push_back(static_cast<double>(i + 1));
    each.y.push_back(history[i].value);
    best.x.push_back(static_cast<double>(i + 1));
    best.y.push_back(top);
  }
  p.series = {each, best};
  p.references.push_back({1.0, "plain decoding (= 1.0)"});
  p.value_labels = false;
  Chart c;
  c.title = "aded tune-skip: " + std::filesystem::path(model).filename().string();
  c.subtitle = fmt::format("{} prompts x {} tokens | {} thread{} | greedy | search took {:.0f} s",
                           prompts, n, threads, threads == 1 ? "" : "s", seconds);
  c.panels = {std::move(p)};
  return c;
}

}  // namespace

Command add_tune_skip(CLI::App& app) {
  struct Options {
    ModelOptions model;
    std::string prompts, output, plot, base = "self";
    int n = 32, limit = 8, iterations = 30, confirm = 3;
    SkipSearchOptions search;
    SpecFlags spec;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("tune-skip",
                                 "Find the sublayers self-speculative drafts skip by Bayesian "
                                 "optimization of measured tokens/s "
                                 "(Draft & Verify); use the result with --spec self:skip=@FILE");
  add_model_options(*cmd, o->model);
  cmd->add_option("--prompts", o->prompts, "prompts: Spec-Bench or HumanEval .jsonl(.gz)")
      ->required();
  cmd->add_option("-o,--output", o->output,
                  "write the best skip set to this file (for self:skip=@FILE)");
  cmd->add_option("--plot", o->plot,
                  "draw the search's convergence into an .svg or .png file (needs gnuplot)")
      ->check(image_file_name());
  cmd->add_option("-n,--n-predict", o->n, "new tokens per prompt")
      ->check(int_range(1, 1 << 16))
      ->capture_default_str();
  cmd->add_option("--limit", o->limit, "the first K prompts (0: all)")
      ->check(int_range(0, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--iterations", o->iterations, "skip sets chosen by the Gaussian process")
      ->check(int_range(0, 10000))
      ->capture_default_str();
  cmd->add_option("--initial", o->search.initial,
                  "random skip sets measured first (after every-other)")
      ->check(int_range(0, 1000))
      ->capture_default_str();
  cmd->add_option("--confirm", o->confirm,
                  "the best K skip sets measured twice more; the best mean wins")
      ->check(int_range(1, 100))
      ->capture_default_str();
  cmd->add_option("--seed", o->search.seed, "seed of the random skip sets")->capture_default_str();
  cmd->add_option(
         "--base", o->base,
         "the method the skip set is tuned for, e.g. self:quant=q4_0 (a skip= in it is replaced)")
      ->capture_default_str();
  add_spec_options(*cmd, o->spec, /*method_flag=*/false);
  return {
      cmd, [o] {
        if (!o->output.empty()) check_output_path(o->output, "-o", {o->model.path, o->prompts});
        if (!o->plot.empty()) check_output_path(o->plot, "--plot", {o->model.path, o->prompts});
        const std::string method = o->base.substr(0, o->base.find(':'));
        if (method != "self" && method != "draft")
          fail(
              "--base: '{}' does not draft with layers skipped (use self, self:quant=... or "
              "draft:model=...)",
              o->base);
        const MethodChoice base =
            drafter_registry().parse(o->base + ":skip=every-other", o->spec.settings);
        auto bench_prompts = read_bench_prompts(o->prompts);
        if (o->limit > 0 && static_cast<size_t>(o->limit) < bench_prompts.size())
          bench_prompts.resize(static_cast<size_t>(o->limit));
        if (bench_prompts.empty()) fail("{}: no prompts", o->prompts);
        auto model = load_model(o->model);
        std::vector<std::vector<int32_t>> prompts;
        size_t longest = 0;
        for (const auto& p : bench_prompts) {
          prompts.push_back(model->tokenizer().encode(p.text, true));
          if (prompts.back().empty()) prompts.back().push_back(model->tokenizer().bos());
          longest = std::max(longest, prompts.back().size());
        }
        ContextOptions copts = context_options(o->model);
        if (copts.n_ctx == 0)
          copts.n_ctx = static_cast<int>(std::min<int64_t>(
              1 << 22, static_cast<int64_t>(longest) + o->n + base.limits.max_nodes + 2));
        Context ctx(model, copts);
        Generator generator(ctx);
        DrafterEnvironment env(model.get(), &ctx);
        const int layers = model->config().n_layers;
        SkipSearch search(layers, o->search);
        const int total = 1 + o->search.initial + o->iterations;

        const auto start = std::chrono::steady_clock::now();
        (void)measure(generator, {prompts.front()}, o->n, nullptr);  // warm-up
        const Measured reference = measure(generator, prompts, o->n, nullptr);
        ProgressLine progress;
        std::vector<Measured> measured, plain;
        for (int i = 0; i < total; ++i) {
          const LayerPlan plan = search.next();
          const std::string text = fmt::format("{}:skip={}", o->base, format_skip_plan(plan));
          const MethodChoice choice = drafter_registry().parse(text, o->spec.settings);
          auto speculator = drafter_registry().make_speculator(choice, env);
          Comparison c = compare(generator, prompts, o->n, speculator.get());
          if (c.speculative.outputs != reference.outputs || c.plain.outputs != reference.outputs)
            fail("self-speculative output with skip set {} differs from plain decoding (a bug)",
                 format_skip_plan(plan));
          c.plain.outputs.clear();
          c.speculative.outputs.clear();
          search.record(plan, c.speedup);
          plain.push_back(std::move(c.plain));
          Measured m = std::move(c.speculative);
          measured.push_back(std::move(m));
          const SkipObservation& best = search.best();
          progress.update(
              fmt::format("{} {}/{} best {:.2f}x plain {}", ProgressLine::bar(i + 1, total), i + 1,
                          total, best.value, format_skip_plan(best.plan)),
              i + 1 == total);
        }
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const auto& history = search.history();
        fmt::print("model: {} | {} prompts x {} tokens | threads: {} | {} skip sets in {:.1f} s\n",
                   o->model.path, prompts.size(), o->n, ctx.pool().size(), history.size(), seconds);
        // Speedup: the median over prompts of plain over self-speculative decoding time, each
        // prompt decoded both ways one after the other. Draft cost: drafting time per drafted token
        // over plain decoding's time per token.
        fmt::print(
            "\n| rank | skip set | sublayers skipped | speedup | tokens/s | plain tokens/s | "
            "tokens/step | "
            "acceptance | draft cost |\n|--:|---|--:|--:|--:|--:|--:|--:|--:|\n");
        std::vector<size_t> order(history.size());
        for (size_t i = 0; i < order.size(); ++i) order[i] = i;
        std::sort(order.begin(), order.end(),
                  [&](size_t a, size_t b) { return history[a].value > history[b].value; });
        for (size_t r = 0; r < std::min<size_t>(8, order.size()); ++r) {
          const auto& h = history[order[r]];
          const auto skipped = search.encode(h.plan);
          const Measured& m = measured[order[r]];
          const Measured& p = plain[order[r]];
          fmt::print("| {} | {} | {}/{} | {:.2f}x | {:.1f} | {:.1f} | {:.2f} | {:.2f} | {:.2f} |\n",
                     r + 1, format_skip_plan(h.plan), std::count(skipped.begin(), skipped.end(), 1),
                     skipped.size(), h.value, m.tokens_per_second, p.tokens_per_second,
                     m.tokens_per_step, m.acceptance,
                     m.draft_seconds_per_node / p.seconds_per_token);
        }
        // The best of many noisy measurements is an optimistic one: the leaders are measured twice
        // more, and the skip set with the best mean of its three measurements is the result.
        size_t chosen = order.front();
        double chosen_mean = -1;
        fmt::print(
            "\n| leader | skip set | speedup (3 measurements) | mean |\n|--:|---|---|--:|\n");
        for (size_t r = 0; r < std::min<size_t>(static_cast<size_t>(o->confirm), order.size());
             ++r) {
          const auto& h = history[order[r]];
          const MethodChoice choice = drafter_registry().parse(
              fmt::format("{}:skip={}", o->base, format_skip_plan(h.plan)), o->spec.settings);
          auto speculator = drafter_registry().make_speculator(choice, env);
          const double again = compare(generator, prompts, o->n, speculator.get()).speedup;
          const double third = compare(generator, prompts, o->n, speculator.get()).speedup;
          const double mean = (h.value + again + third) / 3;
          fmt::print("| {} | {} | {:.2f}x, {:.2f}x, {:.2f}x | {:.2f}x |\n", r + 1,
                     format_skip_plan(h.plan), h.value, again, third, mean);
          if (mean > chosen_mean) chosen = order[r], chosen_mean = mean;
        }
        const SkipObservation& best = history[chosen];
        if (!o->output.empty()) {
          write_output_file(
              o->output,
              fmt::format("# aded skip set (aded tune-skip; use: --spec self:skip=@{})\n"
                          "# model {}, {} layers; {} prompts of {} x {} tokens; {} "
                          "thread(s); base method {}\n"
                          "# {:.2f}x plain decoding (mean of 3 measurements; {:.1f} vs {:.1f} "
                          "tokens/s in the first); best of {} skip sets measured\n{}\n",
                          o->output, o->model.path, layers, prompts.size(), o->prompts, o->n,
                          ctx.pool().size(), o->base, chosen_mean,
                          measured[chosen].tokens_per_second, plain[chosen].tokens_per_second,
                          history.size(), format_skip_plan(best.plan)));
          fmt::print("\nwrote {}: {}\n", o->output, format_skip_plan(best.plan));
        }
        if (!o->plot.empty())
          render_chart(convergence_chart(history, o->model.path, prompts.size(), o->n,
                                         ctx.pool().size(), seconds),
                       o->plot);
        return 0;
      }};
}

}  // namespace aded::cli
