#include <chrono>
#include <filesystem>
#include <memory>

#include "aded/error.h"
#include "aded/model.h"
#include "aded/trigram_table.h"
#include "commands.h"
#include "core/output_target.h"
#include "common_options.h"
#include "progress_line.h"

namespace aded::cli {

Command add_ngram(CLI::App& app) {
  struct Options {
    std::string model, output;
    std::vector<std::string> corpus;
    int top_k = 12;
    uint64_t max_tokens = 0;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("ngram", "Tri-gram tables for ADED drafting");
  cmd->require_subcommand(1);
  auto* build = cmd->add_subcommand("build", "Count tri-grams of a corpus tokenized with a model's tokenizer");
  build->add_option("-m,--model", o->model, "model (or vocabulary) GGUF whose tokenizer to use")->required();
  build->add_option("-o,--output", o->output, "table file to write")->required();
  build->add_option("--corpus", o->corpus, "corpus text files")->required()->expected(1, -1);
  build->add_option("--top-k", o->top_k, "successors kept per token pair")->check(int_range(1, 1024))->capture_default_str();
  build->add_option("--max-tokens", o->max_tokens, "stop after this many corpus tokens (0: all)");
  return {cmd, [o] {
    std::vector<std::filesystem::path> inputs(o->corpus.begin(), o->corpus.end());
    inputs.emplace_back(o->model);
    check_output_file(o->output, inputs);  // before the counting, not after it
    const auto file = GgufFile::open(o->model);
    const auto tokenizer = Tokenizer::from_gguf(file);
    TrigramTableBuilder builder(*tokenizer, o->top_k);
    builder.set_token_limit(o->max_tokens);
    const auto start = std::chrono::steady_clock::now();
    for (const auto& path : o->corpus) {
      ProgressLine progress;
      builder.add_file(path, [&](size_t done, size_t total) {
        progress.update(fmt::format("{} {} {:3.0f}% {} tokens", path, ProgressLine::bar(done, total),
                                    100.0 * static_cast<double>(done) / static_cast<double>(total), builder.tokens()),
                        done == total);
      });
      progress.finish();
    }
    const TrigramBuildStats s = builder.write(o->output);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    fmt::print("wrote {}: {} documents, {} tokens, {} keys, {} entries, {:.1f} MB, {:.1f} s\n", o->output, s.documents,
               s.tokens, s.keys, s.entries, static_cast<double>(s.bytes) / 1e6, seconds);
    return 0;
  }};
}

}  // namespace aded::cli
