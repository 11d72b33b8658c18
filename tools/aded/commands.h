// The `aded` subcommands. Each add_* registers its flags on a CLI11 subcommand and returns the
// action that runs it; actions return the process exit code and throw aded::Error on failure.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace aded::cli {

using Action = std::function<int()>;
struct Command {
  CLI::App* app;
  Action action;
};

Command add_run(CLI::App& app);
Command add_info(CLI::App& app);
Command add_convert(CLI::App& app);
Command add_quantize(CLI::App& app);
Command add_repack(CLI::App& app);
Command add_gen_model(CLI::App& app);
Command add_bench(CLI::App& app);
Command add_train(CLI::App& app);
Command add_ngram(CLI::App& app);
Command add_bench_spec(CLI::App& app);
Command add_vocab(CLI::App& app);
Command add_perplexity(CLI::App& app);
Command add_tune_skip(CLI::App& app);
Command add_tokenize(CLI::App& app);
Command add_eval(CLI::App& app);
Command add_serve(CLI::App& app);
Command add_distill_data(CLI::App& app);
Command add_eval_drafter(CLI::App& app);
Command add_select(CLI::App& app);

}  // namespace aded::cli
