// aded: run, inspect, convert, quantize and benchmark Llama-family GGUF models on the CPU.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include "aded/error.h"
#include "core/printable_text.h"
#include "commands.h"

namespace {

std::string command_names(CLI::App& app) {
  std::string names;
  for (const auto* sub : app.get_subcommands([](CLI::App*) { return true; }))
    names += (names.empty() ? "" : ", ") + sub->get_name();
  return names;
}

// Output on stdout goes through a buffer: a full disk or a closed file shows only when it is
// flushed, which would otherwise happen in exit(), after the exit code is decided. So it is
// flushed here, and a failure turns a success into exit code 1 with the reason.
int finish_stdout(int exit_code) {
  const bool flushed = std::fflush(stdout) == 0;
  const int error_number = errno;
  if (flushed && !std::ferror(stdout)) return exit_code;
  // A write that failed before this flush has set the error flag; its errno is gone by now.
  std::fprintf(stderr, "aded: error: cannot write to standard output: %s\n",
               flushed ? "an earlier write to it failed" : std::strerror(error_number));
  return exit_code == 0 ? 1 : exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  // A write past the file-size limit (ulimit -f) fails with EFBIG ("File too large") and is
  // reported like a full disk, stdout included, instead of SIGXFSZ ending the process.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"aded: LLM inference on the CPU with lossless speculative decoding (adaptive draft-verification)."};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("aded 0.1.0"));
  std::map<CLI::App*, aded::cli::Action> actions;
  auto add = [&](aded::cli::Command (*make)(CLI::App&)) {
    aded::cli::Command c = make(app);
    actions[c.app] = std::move(c.action);
  };
  add(aded::cli::add_run);
  add(aded::cli::add_info);
  add(aded::cli::add_convert);
  add(aded::cli::add_quantize);
  add(aded::cli::add_repack);
  add(aded::cli::add_gen_model);
  add(aded::cli::add_bench);
  add(aded::cli::add_train);
  add(aded::cli::add_ngram);
  add(aded::cli::add_bench_spec);
  add(aded::cli::add_vocab);
  add(aded::cli::add_perplexity);
  add(aded::cli::add_tune_skip);
  add(aded::cli::add_tokenize);
  add(aded::cli::add_eval);
  add(aded::cli::add_serve);
  add(aded::cli::add_distill_data);
  add(aded::cli::add_eval_drafter);
  add(aded::cli::add_select);

  // llama.cpp's -md, -ctk and -ctv (flags of several letters with one dash, which CLI11 cannot
  // declare) are --model-draft, --cache-type-k and --cache-type-v.
  std::vector<std::string> args(argv, argv + argc);
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "-md") args[i] = "--model-draft";
    if (args[i] == "-ctk") args[i] = "--cache-type-k";
    if (args[i] == "-ctv") args[i] = "--cache-type-v";
  }
  std::vector<char*> arg_pointers;
  for (std::string& a : args) arg_pointers.push_back(a.data());

  try {
    app.parse(argc, arg_pointers.data());
  } catch (const CLI::CallForHelp& e) {
    return finish_stdout(app.exit(e));
  } catch (const CLI::CallForAllHelp& e) {
    return finish_stdout(app.exit(e));
  } catch (const CLI::CallForVersion& e) {
    return finish_stdout(app.exit(e));
  } catch (const CLI::ParseError& e) {
    // CLI11 reports "aded frobnicate" or "aded --frob" as "A subcommand is required": name it.
    if (app.get_subcommands().empty() && argc > 1) {
      std::fprintf(stderr, "aded: error: unknown %s '%s' (commands: %s; see 'aded --help')\n",
                   argv[1][0] == '-' ? "option" : "command", argv[1], command_names(app).c_str());
      return 2;
    }
    std::string command = "aded";
    for (auto* sub : app.get_subcommands()) command += " " + sub->get_name();
    std::fprintf(stderr, "aded: error: %s (see '%s --help')\n", e.what(), command.c_str());
    return 2;
  }
  try {
    for (auto* sub : app.get_subcommands()) return finish_stdout(actions.at(sub)());
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "aded: error: out of memory\n");
  } catch (const std::system_error& e) {
    // fmt::print throws this when stdout's buffer cannot be written out (a full disk).
    if (std::ferror(stdout))
      std::fprintf(stderr, "aded: error: cannot write to standard output: %s\n", e.code().message().c_str());
    else
      std::fprintf(stderr, "aded: error: %s\n", e.what());
  } catch (const std::exception& e) {
    // Messages quote names and strings from input files: escape what a terminal would act on.
    std::fprintf(stderr, "aded: error: %s\n", aded::printable_text(e.what()).c_str());
  }
  return 1;
}
