#include "common_options.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
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
  cmd.add_option("-c,--ctx-size", o.ctx, "context size in tokens (default: the model's training context, less when its KV cache would not fit in half the memory; the cache takes memory only as text fills it)")
      ->check(int_range(1, 1 << 22));
  // The names llama.cpp users know (-ctk f16); the types the cache can hold.
  const auto cache_type = [](const std::string& text) -> std::string {
    const auto type = parse_tensor_type(text);
    if (type == TensorType::F16 || type == TensorType::F32 || type == TensorType::Q8_0) return {};
    return fmt::format("the KV cache holds f16, f32 or q8_0, not '{}'", text);
  };
  cmd.add_option("--cache-type-k", o.cache_type_k,
                 "KV cache type of the keys (-ctk): f16 (half the memory and bandwidth of f32), f32, or q8_0 (about half of f16; heads of a multiple of 32)")
      ->check(CLI::Validator(cache_type, "TYPE"))
      ->capture_default_str();
  cmd.add_option("--cache-type-v", o.cache_type_v, "KV cache type of the values (-ctv): f16, f32 or q8_0")
      ->check(CLI::Validator(cache_type, "TYPE"))
      ->capture_default_str();
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
  c.cache_type_k = *parse_tensor_type(o.cache_type_k);  // checked by the flag
  c.cache_type_v = *parse_tensor_type(o.cache_type_v);
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
  // The same limit as an inflated bench-spec prompt file: far more than any context holds.
  constexpr size_t kMaxPromptBytes = size_t{256} << 20;
  // Opened without waiting: a named pipe with no writer would otherwise block the open forever.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) fail("{}: cannot open the prompt file: {}", path, std::strerror(errno));
  const struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    fail("{}: cannot read the prompt file: {}", path, std::strerror(errno));
  if (S_ISDIR(st.st_mode)) fail("{}: is a directory, not a prompt file", path);
  // From here on reads wait for a pipe's writer (-f /dev/stdin, -f <(command)).
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  std::string text;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("{}: cannot read the prompt file: {}", path, std::strerror(errno));
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > kMaxPromptBytes)
      fail("{}: more than {} MB, too large for a prompt file", path, kMaxPromptBytes >> 20);
  }
  if (text.empty() && S_ISFIFO(st.st_mode))
    fail("{}: nothing to read from this pipe (no writer, or it wrote nothing)", path);
  return text;
}

}  // namespace aded::cli
