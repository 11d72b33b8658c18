#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>

#include "aded/bench.h"
#include "aded/error.h"
#include "commands.h"
#include "common_options.h"
#include "progress_line.h"

namespace aded::cli {

namespace {

std::string model_name(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

void print_markdown(const std::string& path, const Model& m, const BenchResult& r, const BenchOptions& o) {
  const double size_mb = static_cast<double>(m.gguf().file_size()) / 1e6;
  const std::string type(tensor_type_name(m.main_type()));
  fmt::print("| model | type | size | params | threads | test | t/s |\n|---|---|--:|--:|--:|---|--:|\n");
  const auto row = [&](const std::string& test, const Stat& s) {
    fmt::print("| {} | {} | {:.1f} MB | {:.1f} M | {} | {} | {:.2f} ± {:.2f} |\n", model_name(path), type, size_mb,
               static_cast<double>(m.parameter_count()) / 1e6, r.threads, test, s.mean, s.sd);
  };
  row(fmt::format("pp{}", o.pp_tokens), r.pp_tps);
  row(fmt::format("tg{}", o.tg_tokens), r.tg_tps);
  fmt::print("\nmemory read bandwidth: {:.1f} GB/s; weights read per token: {:.1f} MB; decode limit: {:.1f} t/s; "
             "tg{} reaches {:.0f}% of it\n",
             r.bandwidth_gbps, static_cast<double>(r.weight_bytes) / 1e6, r.bandwidth_limit_tps, o.tg_tokens,
             100 * r.tg_tps.mean / r.bandwidth_limit_tps);
  fmt::print("\nverifier cost curve (median forward time of n tokens at a depth, {}, KV cache {}/{}; layers: the same "
             "forward without logits):\n\n| depth | n | ms | relative to n = 1 | layers ms | output head ms |\n"
             "|--:|--:|--:|--:|--:|--:|\n",
             o.greedy_head ? "greedy head" : "full head", tensor_type_name(o.cache_type_k),
             tensor_type_name(o.cache_type_v));
  for (const auto& curve : r.cost_curves)
    for (const auto& p : curve.points)
      fmt::print("| {} | {} | {:.2f} | {:.2f} | {:.2f} | {:.2f} |\n", curve.depth, p.n, p.ms, p.rel, p.layers_ms,
                 p.ms - p.layers_ms);
}

void print_json(const std::string& path, const Model& m, const BenchResult& r, const BenchOptions& o) {
  nlohmann::json j;
  j["model"] = model_name(path);
  j["type"] = std::string(tensor_type_name(m.main_type()));
  j["params"] = m.parameter_count();
  j["threads"] = r.threads;
  j["pp_tokens"] = o.pp_tokens;
  j["tg_tokens"] = o.tg_tokens;
  j["pp512_tps"] = r.pp_tps.mean;
  j["pp512_sd"] = r.pp_tps.sd;
  j["tg128_tps"] = r.tg_tps.mean;
  j["tg128_sd"] = r.tg_tps.sd;
  j["bandwidth_gbps"] = r.bandwidth_gbps;
  j["weight_bytes"] = r.weight_bytes;
  j["bandwidth_limit_tps"] = r.bandwidth_limit_tps;
  j["bandwidth_fraction"] = r.tg_tps.mean / r.bandwidth_limit_tps;
  // The first depth's curve as before ("depth", "cost_curve"), every depth in "cost_curves".
  j["depth"] = r.cost_curves.front().depth;
  j["greedy_head"] = o.greedy_head;
  j["cache_type_k"] = std::string(tensor_type_name(o.cache_type_k));
  j["cache_type_v"] = std::string(tensor_type_name(o.cache_type_v));
  const auto points = [](const std::vector<CostPoint>& curve) {
    auto a = nlohmann::json::array();
    for (const auto& p : curve) a.push_back({{"n", p.n}, {"ms", p.ms}, {"rel", p.rel}, {"layers_ms", p.layers_ms}});
    return a;
  };
  j["cost_curve"] = points(r.cost_curves.front().points);
  j["cost_curves"] = nlohmann::json::array();
  for (const auto& curve : r.cost_curves) j["cost_curves"].push_back({{"depth", curve.depth}, {"points", points(curve.points)}});
  fmt::print("{}\n", j.dump(2));
}

}  // namespace

Command add_bench(CLI::App& app) {
  struct Options {
    ModelOptions model;
    std::string output = "md";
    BenchOptions bench;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("bench", "Measure prompt/generation speed, the verifier cost curve and bandwidth");
  add_model_options(*cmd, o->model);
  cmd->add_option("-o,--output", o->output, "md or json")->check(CLI::IsMember({"md", "json"}))->capture_default_str();
  cmd->add_option("-r,--repetitions", o->bench.repetitions, "repetitions of pp and tg")->check(int_range(1, 1000))->capture_default_str();
  cmd->add_option("-p,--n-prompt", o->bench.pp_tokens, "prompt tokens (pp)")->check(int_range(1, 1 << 16))->capture_default_str();
  cmd->add_option("-n,--n-gen", o->bench.tg_tokens, "generated tokens (tg)")->check(int_range(1, 1 << 16))->capture_default_str();
  cmd->add_option("--depth", o->bench.depths, "context depths of the cost curve (e.g. 128,512,2048,4096,8192)")
      ->check(int_range(0, 1 << 16))
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--cost-sizes", o->bench.cost_sizes, "forward sizes n of the cost curve (n = 1 is always included)")
      ->check(int_range(1, 4096))
      ->delimiter(',')
      ->capture_default_str();
  return {cmd, [o] {
    auto model = load_model(o->model);
    o->bench.threads = context_options(o->model).n_threads;
    o->bench.n_ctx = o->model.ctx;
    o->bench.greedy_head = !o->model.full_head;
    o->bench.cache_type_k = context_options(o->model).cache_type_k;
    o->bench.cache_type_v = context_options(o->model).cache_type_v;
    auto& depths = o->bench.depths;
    std::sort(depths.begin(), depths.end());
    depths.erase(std::unique(depths.begin(), depths.end()), depths.end());
    // The curve is relative to n = 1: keep it, first, once.
    auto& sizes = o->bench.cost_sizes;
    sizes.push_back(1);
    std::sort(sizes.begin(), sizes.end());
    sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
    ProgressLine progress;
    o->bench.progress = [&progress](const std::string& s) { progress.update("bench: " + s); };
    const BenchResult r = run_bench(model, o->bench);
    progress.finish(/*clear=*/true);
    if (o->output == "json")
      print_json(o->model.path, *model, r, o->bench);
    else
      print_markdown(o->model.path, *model, r, o->bench);
    return 0;
  }};
}

}  // namespace aded::cli
