// aded serve: an OpenAI-compatible HTTP server over the generation loop, with speculative
// decoding per request, Prometheus metrics and a live page. docs/server.md describes the
// endpoints, fields, metrics and limits.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aded/context.h"
#include "aded/drafter_registry.h"
#include "aded/model.h"

namespace aded {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (Server::port() tells which)
  std::string api_key;  // empty: no key needed
  std::string model_name;  // as /v1/models lists it (default: the model file's name)
  int parallel = 1;        // slots: requests generating at once
  int queue_limit = 16;    // requests waiting for a slot before 503
  ContextOptions context;  // per slot (one thread pool is shared by all slots)
  // Speculative decoding by default: a method string and settings from flags (-md, --ngram ...).
  std::string spec_method = "none";
  std::vector<SettingValue> spec_settings;
  // ADED's tri-gram overlay adapted across requests (the setting shared=on, unless given).
  bool cross_request_adaptation = true;
  std::string chat_template;  // a format name; empty: recognize the model's template
  size_t max_body_bytes = size_t{1} << 20;
  int max_prompt_tokens = 0;  // 0: what the context holds
  int max_tokens = 4096;      // the most a request may ask for
  int default_max_tokens = 256;
  double drain_seconds = 30;  // on stop(): how long running generations may go on before they are cancelled
  int http_threads = 0;       // 0: parallel + queue_limit + 4
};

class Server {
 public:
  // Checks the options (the method string, the chat template name) and makes the slots; throws
  // InputError naming the option.
  Server(std::shared_ptr<const Model> model, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and serves on a thread of its own; returns the port. Throws Error if the port cannot be bound.
  int start();
  int port() const;
  // Stops: new requests get 503, running ones finish (or are cancelled after drain_seconds),
  // then the listener closes. Idempotent; the destructor calls it.
  void stop();
  // Answers the HTTP request(s) in `bytes` as a connection would be answered, with no socket (the
  // server need not be started): the fuzz target of the HTTP layer drives the server this way.
  std::string answer_http_bytes(std::string_view bytes);
  // Why chat requests are refused (empty when chat works): the model's template was not recognized.
  const std::string& chat_refusal() const;

  // The implementation (src/server/server_state.h), named here so its parts can share it.
  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace aded
