#include "common_options.h"

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "aded/error.h"
#include "core/output_target.h"

namespace aded::cli {

CLI::Validator int_range(int lo, int hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        int value = 0;
        if (!CLI::detail::lexical_cast(text, value)) return fmt::format("'{}' is not an integer", text);
        if (value < lo || value > hi) return fmt::format("{} is out of range ({} to {})", value, lo, hi);
        return {};
      },
      fmt::format("INT in [{} - {}]", lo, hi));
}

void add_model_options(CLI::App& cmd, ModelOptions& o, bool model_required) {
  auto* m = cmd.add_option("-m,--model", o.path, "GGUF model file");
  if (model_required) m->required();
  cmd.add_option("-t,--threads", o.threads, "threads (default: all cores)")->check(int_range(1, 1024));
  cmd.add_option("-c,--ctx-size", o.ctx, "context size in tokens (default: the model's, at most 4096)")
      ->check(int_range(1, 1 << 22));
  cmd.add_flag("--full-head", o.full_head,
               "greedy decoding: compute the whole float output projection (default: an int8 copy of it "
               "finds the candidates for the argmax and only those are computed exactly; same tokens)");
}

void add_sampling_options(CLI::App& cmd, SamplingParams& s) {
  s.seed = std::random_device{}();
  cmd.add_option("--temp", s.temperature, "temperature (0: greedy)")->capture_default_str();
  cmd.add_option("--top-k", s.top_k, "top-k sampling (0: off)")->capture_default_str();
  cmd.add_option("--top-p", s.top_p, "top-p (nucleus) sampling (1: off)")->capture_default_str();
  cmd.add_option("--min-p", s.min_p, "min-p sampling (0: off)")->capture_default_str();
  cmd.add_option("--repeat-penalty", s.repeat_penalty, "penalty for repeated tokens (1: off)")->capture_default_str();
  cmd.add_option("--repeat-last-n", s.repeat_last_n, "how many recent tokens the penalty covers")->capture_default_str();
  cmd.add_option("-s,--seed", s.seed, "random seed (default: random)");
}

std::shared_ptr<const Model> load_model(const ModelOptions& o) { return Model::load(o.path); }

ContextOptions context_options(const ModelOptions& o) {
  ContextOptions c;
  c.n_ctx = o.ctx;
  c.n_threads = o.threads > 0 ? o.threads : static_cast<int>(std::thread::hardware_concurrency());
  c.greedy_head = !o.full_head;
  return c;
}

void check_output_path(const std::string& path, const std::string& flag,
                       std::initializer_list<std::filesystem::path> inputs) {
  if (path.empty()) fail("{}: no file name", flag);
  try {
    check_output_file(path, inputs);
  } catch (const InputError& e) {
    fail("{}: {}", flag, e.what());
  }
}

std::string read_text_file(const std::string& path) {
  std::error_code ec;
  // An ifstream opens a directory without complaint and reads nothing from it.
  if (std::filesystem::is_directory(path, ec)) fail("{}: is a directory, not a prompt file", path);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open the prompt file", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace aded::cli
