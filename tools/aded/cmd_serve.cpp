#include <chrono>
#include <csignal>
#include <cstdio>
#include <thread>

#include "aded/error.h"
#include "aded/server.h"
#include "commands.h"
#include "common_options.h"
#include "core/termination_signals.h"
#include "spec_options.h"

namespace aded::cli {

Command add_serve(CLI::App& app) {
  struct Options {
    ModelOptions model;
    SpecFlags spec;
    ServerOptions server;
    bool no_cross_request = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "serve", "OpenAI-compatible HTTP server: /v1/completions, /v1/chat/completions, /metrics and a live page at /");
  add_model_options(*cmd, o->model);
  add_spec_options(*cmd, o->spec);
  ServerOptions& s = o->server;
  cmd->add_option("--host", s.host, "address to listen on")->capture_default_str();
  cmd->add_option("--port", s.port, "port to listen on (0: any free port)")->check(int_range(0, 65535))->capture_default_str();
  cmd->add_option("--api-key", s.api_key, "require 'Authorization: Bearer KEY' on every endpoint but /health");
  cmd->add_option("-a,--alias", s.model_name, "model name for /v1/models and responses (default: the file name)");
  cmd->add_option("--parallel", s.parallel, "slots: requests generating at once, each with its own context")
      ->check(int_range(1, 64))
      ->capture_default_str();
  cmd->add_option("--queue", s.queue_limit, "requests that may wait for a slot; beyond that the answer is 503")
      ->check(int_range(0, 4096))
      ->capture_default_str();
  cmd->add_option("--chat-template", s.chat_template,
                  "chat format (chatml, llama2, llama3, zephyr, mistral, gemma, phi3, deepseek-r1); default: "
                  "recognized from the model's tokenizer.chat_template");
  cmd->add_option("--max-body", s.max_body_bytes, "largest request body in bytes (413 beyond)")
      ->check(CLI::Range(size_t{1024}, size_t{1} << 30))
      ->capture_default_str();
  cmd->add_option("--max-prompt-tokens", s.max_prompt_tokens, "longest prompt in tokens (0: what the context holds)")
      ->check(int_range(0, 1 << 22))
      ->capture_default_str();
  cmd->add_option("--max-tokens", s.max_tokens, "the most tokens a request may ask for (max_tokens)")
      ->check(int_range(1, 1 << 22))
      ->capture_default_str();
  cmd->add_option("-n,--n-predict", s.default_max_tokens, "tokens to generate when a request does not say")
      ->check(int_range(1, 1 << 22))
      ->capture_default_str();
  cmd->add_option("--drain", s.drain_seconds, "on SIGTERM/SIGINT: seconds running requests may finish in")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  cmd->add_flag("--no-cross-request", o->no_cross_request,
                "ADED's adaptation starts afresh with every request (default: what one request taught it helps the "
                "next, the setting shared=on)");
  return {cmd, [o] {
    ServerOptions options = o->server;
    options.context = context_options(o->model);
    options.spec_method = o->spec.method;
    options.spec_settings = o->spec.settings;
    options.cross_request_adaptation = !o->no_cross_request;
    auto model = load_model(o->model);
    Server server(model, options);
    GracefulStop stop;  // SIGINT/SIGTERM: drain, then exit
    const int port = server.start();
    fmt::print(stderr, "aded serve: listening on http://{}:{} ({} slot{}, speculative decoding: {})\n", options.host, port,
               options.parallel, options.parallel == 1 ? "" : "s", options.spec_method);
    if (!server.chat_refusal().empty()) fmt::print(stderr, "aded serve: {}\n", server.chat_refusal());
    while (!stop.requested()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    fmt::print(stderr, "aded serve: stopping (signal {}): finishing running requests\n", stop.signal());
    server.stop();
    fmt::print(stderr, "aded serve: stopped\n");
    return 0;
  }};
}

}  // namespace aded::cli
