// aded perplexity: the next-token cross-entropy of a model on text files, measured the way the
// trainer's validation loss is (documents split at "# ==== file:" lines, each preceded by BOS,
// concatenated, cut into windows of ctx + 1 tokens), so trained and converted models compare.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <memory>

#include "aded/error.h"
#include "aded/text_loss.h"
#include "commands.h"
#include "common_options.h"
#include "train/token_corpus.h"

namespace aded::cli {

namespace {

struct PerplexityOptions {
  ModelOptions model;
  std::vector<std::string> files;
  int window = 256;
  int max_windows = 0;
};

int run_perplexity(const PerplexityOptions& o) {
  const auto model = load_model(o.model);
  ContextOptions copt = context_options(o.model);
  copt.n_ctx = o.window;
  Context ctx(model, copt);

  train::CorpusOptions corpus;
  corpus.files = o.files;
  corpus.vocab_path = o.model.path;
  const train::CorpusTokens text = train::load_corpus(corpus, model->tokenizer(), ctx.pool());
  const auto& tokens = text.tokens;
  const size_t stride = static_cast<size_t>(o.window);
  // Consecutive windows share one token, so every token but the first is predicted once.
  const size_t available = tokens.size() > stride ? (tokens.size() - 1) / stride : 0;
  if (available == 0)
    fail("{}: {} tokens, too few for one window of {} (lower --window)", o.files.front(),
         tokens.size(), o.window);
  const size_t n = o.max_windows > 0 ? std::min<size_t>(available, static_cast<size_t>(o.max_windows))
                                     : available;
  fmt::print(stderr, "{} documents, {} tokens: {} of {} windows of {} tokens\n", text.documents,
             tokens.size(), n, available, o.window);

  const bool tty = isatty(STDERR_FILENO) != 0;
  const auto start = std::chrono::steady_clock::now();
  double nll = 0;
  for (size_t w = 0; w < n; ++w) {
    // Spread a subset evenly over the text.
    const size_t first = (w * available / n) * stride;
    nll += window_nll(ctx, std::span(tokens).subspan(first, stride + 1));
    if (tty)
      fmt::print(stderr, "\r{}/{} windows, loss {:.4f}", w + 1, n,
                 nll / static_cast<double>((w + 1) * stride));
  }
  if (tty) fmt::print(stderr, "\n");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double loss = nll / static_cast<double>(n * stride);
  fmt::print("{}: loss {:.6f} nats/token, perplexity {:.4f} ({} tokens, {:.1f} s)\n",
             o.model.path, loss, std::exp(loss), n * stride, seconds);
  return 0;
}

}  // namespace

Command add_perplexity(CLI::App& app) {
  auto o = std::make_shared<PerplexityOptions>();
  auto* cmd = app.add_subcommand(
      "perplexity", "Cross-entropy (nats/token) and perplexity of a model on text files");
  add_model_options(*cmd, o->model);
  cmd->add_option("-f,--file", o->files, "text files (e.g. a validation split)")->required();
  auto* window = cmd->add_option("--window", o->window, "tokens per window, the context size (the model's training context; -c sets it too)")
                     ->check(int_range(1, 1 << 16))
                     ->capture_default_str();
  cmd->add_option("--max-windows", o->max_windows, "evaluate at most this many windows (0: all)")
      ->check(int_range(0, 1 << 30))
      ->capture_default_str();
  return {cmd, [o, window] {
    // The window is the context each prediction sees: -c names the same thing.
    if (o->model.ctx > 0) {
      if (window->count() > 0 && o->window != o->model.ctx)
        fail("-c {} and --window {} disagree: the window is the context size; give one of them",
             o->model.ctx, o->window);
      if (o->model.ctx > (1 << 16)) fail("-c {} is larger than a perplexity window can be (65536)", o->model.ctx);
      o->window = o->model.ctx;
    }
    return run_perplexity(*o);
  }};
}

}  // namespace aded::cli
