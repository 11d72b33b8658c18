#include <csignal>

#include <fmt/format.h>

#include "aded/error.h"
#include "server/api_key.h"
#include "server/openai_format.h"
#include "server/server_state.h"

namespace aded {

using server::ChatFormat;

Server::Impl::Impl(std::shared_ptr<const Model> m, ServerOptions o) : model(std::move(m)), options(std::move(o)) {
  if (options.parallel < 1) fail("--parallel must be at least 1, not {}", options.parallel);
  if (options.queue_limit < 0) fail("the queue limit must be >= 0, not {}", options.queue_limit);
  if (options.cross_request_adaptation) settings.push_back({"shared", "on", "aded serve (cross-request adaptation)"});
  settings.insert(settings.end(), options.spec_settings.begin(), options.spec_settings.end());
  const MethodChoice default_method = registry.parse(options.spec_method, settings);  // InputError names it

  if (!options.chat_template.empty()) {
    chat_format = server::chat_format_from_name(options.chat_template);
    if (!chat_format)
      fail("--chat-template: unknown format '{}' (known: {})", options.chat_template, server::chat_format_names());
  } else {
    const auto jinja = model->gguf().string_or("tokenizer.chat_template");
    const auto found = server::recognize_chat_template(jinja.value_or(std::string_view{}));
    chat_format = found.format;
    if (!found.format)
      chat_refusal = fmt::format("chat is unavailable: the model's chat template is not recognized ({}); start the "
                                 "server with --chat-template NAME ({})",
                                 found.refusal, server::chat_format_names());
  }

  limits.max_tokens = options.max_tokens;
  limits.default_max_tokens = std::min(options.default_max_tokens, options.max_tokens);
  slots = std::make_unique<server::SlotPool>(model, options.parallel, options.queue_limit, options.context);
  // Each slot makes its default speculator now: a method that cannot be made (a missing draft
  // model) fails at start, not at the first request.
  for (int i = 0; i < slots->size(); ++i) server::speculator_for(slots->slot(i), registry, default_method);
  if (options.model_name.empty()) {
    const std::string& path = model->gguf().path();
    options.model_name = path.substr(path.find_last_of('/') + 1);
  }
}

MethodChoice Server::Impl::method_choice(const std::optional<std::string>& method, const std::optional<int>& n_max) const {
  const std::string text = method.value_or(options.spec_method);
  if (n_max && *n_max == 0) return registry.parse("none");
  if (method) {
    // Files are the command line's business: a request may not make the server open one, neither
    // in its method nor in a member of a union or select.
    const MethodChoice alone = registry.parse(text);
    const auto refuse_files = [&](const MethodChoice& choice, const auto& self) -> void {
      if (const DrafterMethod* m = registry.find(choice.method))
        for (const SettingSpec& s : m->settings)
          if (s.kind == SettingSpec::Kind::Text && choice.settings.given(s.key) &&
              s.refers_to_file(choice.settings.text(s.key)))
            throw server::RequestError("speculative.method",
                                       fmt::format("'speculative.method': the setting {}= names a file, which only "
                                                   "the command line may do",
                                                   s.key));
      for (const MethodChoice& member : choice.members) self(member, self);
    };
    refuse_files(alone, refuse_files);
  }
  std::vector<SettingValue> with_max = settings;
  if (n_max) with_max.push_back({"max", std::to_string(*n_max), "speculative.n_max"});
  return registry.parse(text, with_max);
}

void Server::Impl::reply_error(httplib::Response& res, int status, const std::string& message, const std::string& type,
                               const std::string& param) {
  res.status = status;
  res.set_content(server::to_text(server::error_body(message, type, param, status)), "application/json");
}

void Server::Impl::add_routes() {
  // The key guards everything but the health check and the page itself (which asks for the key).
  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (options.api_key.empty() || req.path == "/health" || (req.path == "/" && req.method == "GET"))
      return httplib::Server::HandlerResponse::Unhandled;
    const std::string given(server::bearer_token(req.get_header_value("Authorization")));
    if (server::same_key(given, options.api_key)) return httplib::Server::HandlerResponse::Unhandled;
    reply_error(res, 401, "invalid or missing API key (send the header 'Authorization: Bearer KEY')",
                "authentication_error");
    return httplib::Server::HandlerResponse::Handled;
  });
  http.set_error_handler([this](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 413)
      reply_error(res, 413, fmt::format("the request body is larger than {} bytes", options.max_body_bytes),
                  "invalid_request_error");
    else if (res.status == 404)
      reply_error(res, 404, "no such endpoint", "not_found_error");
    else
      reply_error(res, res.status, fmt::format("HTTP error {}", res.status), "invalid_request_error");
  });
  http.set_exception_handler([this](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string message = "internal error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      message = e.what();
    } catch (...) {
    }
    reply_error(res, 500, message, "server_error");
  });
  add_info_routes();
  add_completion_routes();
}

Server::Server(std::shared_ptr<const Model> model, ServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(model), std::move(options))) {
  Impl& s = *impl_;
  const int threads = s.options.http_threads > 0 ? s.options.http_threads : s.options.parallel + s.options.queue_limit + 4;
  s.http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  s.http.set_payload_max_length(s.options.max_body_bytes);
  s.http.set_keep_alive_timeout(2);
  s.add_routes();
}

Server::~Server() { stop(); }

int Server::start() {
  Impl& s = *impl_;
  // A client that goes away mid-stream must fail a write, not end the process.
  std::signal(SIGPIPE, SIG_IGN);
  const int port = s.options.port == 0 ? s.http.bind_to_any_port(s.options.host)
                                       : (s.http.bind_to_port(s.options.host, s.options.port) ? s.options.port : -1);
  if (port < 0) fail("cannot listen on {}:{} (address in use, or not an address of this machine)", s.options.host, s.options.port);
  s.bound_port = port;
  s.listener = std::thread([&s] { s.http.listen_after_bind(); });
  // stop() only reaches a listener that runs: wait for it.
  while (!s.http.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return port;
}

int Server::port() const { return impl_->bound_port; }

std::string Server::answer_http_bytes(std::string_view bytes) { return impl_->http.answer_bytes(bytes); }

const std::string& Server::chat_refusal() const { return impl_->chat_refusal; }

void Server::stop() {
  Impl& s = *impl_;
  std::lock_guard lock(s.stop_mutex);
  if (s.stopped) return;
  s.stopped = true;
  s.stopping = true;
  s.slots->close();  // waiting and new requests: 503
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(s.options.drain_seconds);
  while (s.slots->running() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  s.cancel_all = true;  // what still runs ends at its next token
  while (s.slots->running() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (s.listener.joinable()) {
    s.http.stop();
    s.listener.join();
  }
}

}  // namespace aded
