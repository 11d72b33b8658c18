#include <memory>

#include "aded/error.h"
#include "aded/selection_policy.h"
#include "commands.h"
#include "common_options.h"
#include "core/output_file.h"

namespace aded::cli {

namespace {

void print_evaluation(const std::string& what, const SelectionPolicy& policy, const std::vector<SelectionLogRow>& rows) {
  const PolicyEvaluation e = evaluate_selection_policy(policy, rows);
  if (e.requests == 0) {
    fmt::print("{}: no request has a reward for every arm of the policy\n", what);
    return;
  }
  fmt::print(
      "{}: {} requests, mean speed-up: policy {:.3f}x, best single arm ({}) {:.3f}x, best arm per request "
      "{:.3f}x; the policy picked the best arm for {} ({:.0f}%)\n",
      what, e.requests, e.policy, e.best_single_arm, e.best_single, e.oracle, e.picked_best,
      100.0 * static_cast<double>(e.picked_best) / static_cast<double>(e.requests));
}

}  // namespace

Command add_select(CLI::App& app) {
  struct Options {
    std::vector<std::string> logs, eval_logs;
    std::string output;
    double ridge = 1.0;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("select", "The per-request drafter choice (--spec auto): learn its policy");
  cmd->require_subcommand(1);
  auto* train = cmd->add_subcommand(
      "train",
      "Learn a policy for --spec auto:policy=FILE from selection logs (bench-spec --select-log): per arm, a "
      "ridge regression of the speed-up on the request's features (docs/selection.md)");
  train->add_option("--log", o->logs, "selection logs to learn from")->required()->expected(1, -1);
  train->add_option("-o,--output", o->output, "policy file to write (JSON)")->required();
  train->add_option("--eval", o->eval_logs, "held-out selection logs to report the policy's speed-up on")
      ->expected(1, -1);
  train->add_option("--ridge", o->ridge, "prior weight, in requests, toward plain decoding's speed")
      ->check(CLI::Range(1e-3, 1e3))
      ->capture_default_str();
  return {cmd, [o] {
            check_output_path(o->output, "--output", {});
            for (const auto& path : o->logs)
              if (path == o->output) fail("--output {} is also a --log input", path);
            std::vector<SelectionLogRow> rows;
            for (const auto& path : o->logs) {
              auto part = read_selection_log(path);
              if (part.empty()) fail("--log {}: no rows", path);
              rows.insert(rows.end(), part.begin(), part.end());
            }
            PolicyTraining t;
            t.ridge = o->ridge;
            const SelectionPolicy policy = train_selection_policy(rows, t);
            write_output_file(o->output, selection_policy_json(policy));
            fmt::print("wrote {}: {} arms from {} rows ({})\n", o->output, policy.arms.size(), rows.size(),
                       policy.table.empty() ? "no tri-gram table" : "table " + policy.table);
            for (size_t a = 0; a < policy.arms.size(); ++a)
              fmt::print("  {}: {} requests\n", policy.arms[a], policy.models[a].observations());
            print_evaluation("learned from", policy, rows);
            if (!o->eval_logs.empty()) {
              std::vector<SelectionLogRow> held_out;
              for (const auto& path : o->eval_logs) {
                auto part = read_selection_log(path);
                held_out.insert(held_out.end(), part.begin(), part.end());
              }
              print_evaluation("held out", policy, held_out);
            }
            return 0;
          }};
}

}  // namespace aded::cli
