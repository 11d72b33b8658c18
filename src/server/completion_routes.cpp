// /v1/completions and /v1/chat/completions: parse and check the request, make its prompt, wait
// for a slot, generate, and answer with one JSON body or a stream of server-sent events.
#include <chrono>
#include <random>

#include <fmt/format.h>

#include "aded/error.h"
#include "server/generation_job.h"
#include "server/openai_format.h"
#include "server/peer_connection.h"
#include "server/server_state.h"

namespace aded {

using nlohmann::json;
using server::CompletionRequest;
using server::Endpoint;
using server::RequestError;

namespace {

std::vector<int32_t> prompt_tokens(const Server::Impl& s, const CompletionRequest& r) {
  const Tokenizer& tok = s.model->tokenizer();
  if (r.endpoint == Endpoint::ChatCompletions) {
    if (!s.chat_format) throw RequestError("messages", s.chat_refusal);
    // The template's markers are special tokens; BOS by the model's rule.
    return tok.encode(server::render_chat(*s.chat_format, r.messages), tok.add_bos_by_default(), true);
  }
  if (!r.prompt_is_tokens) return tok.encode(r.prompt, /*add_bos=*/true);  // as `aded run` and Generator do
  for (size_t i = 0; i < r.prompt_tokens.size(); ++i)
    if (!tok.valid(r.prompt_tokens[i]))
      throw RequestError(fmt::format("prompt[{}]", i),
                         fmt::format("'prompt[{}]' must be a token id from 0 to {}", i, tok.size() - 1));
  return r.prompt_tokens;
}

server::GenerationJob make_job(const Server::Impl& s, const CompletionRequest& r) {
  server::GenerationJob job;
  job.prompt = prompt_tokens(s, r);
  const std::string field = r.endpoint == Endpoint::ChatCompletions ? "messages" : "prompt";
  if (job.prompt.empty())
    throw RequestError(field, fmt::format("'{}' is empty and the model has no BOS token to start from", field));
  const int n_ctx = s.slots->slot(0).context.n_ctx();
  const int most = s.options.max_prompt_tokens > 0 ? std::min(s.options.max_prompt_tokens, n_ctx - 1) : n_ctx - 1;
  if (static_cast<int>(job.prompt.size()) > most)
    throw RequestError(field, fmt::format("the prompt has {} tokens; at most {} are accepted (context size {})",
                                          job.prompt.size(), most, n_ctx));
  job.options.sampling = r.sampling;
  try {
    job.options.sampling.validate();
  } catch (const InputError& e) {
    throw RequestError("temperature", e.what());
  }
  job.options.max_new_tokens = r.max_tokens;
  job.options.stop_strings = r.stop;
  if (r.endpoint == Endpoint::ChatCompletions)
    for (auto& stop : server::chat_stop_strings(*s.chat_format)) job.options.stop_strings.push_back(stop);
  job.options.token_probabilities = r.logprobs;
  return job;
}

std::string random_suffix() {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  return fmt::format("{:016x}", random());
}

}  // namespace

void Server::Impl::add_completion_routes() {
  const auto handle = [this](const httplib::Request& req, httplib::Response& res, Endpoint endpoint) {
    const double arrival = server::monotonic_seconds();
    CompletionRequest r;
    server::GenerationJob job;
    MethodChoice method;
    try {
      r = server::parse_completion_request(req.body, endpoint, limits);
      job = make_job(*this, r);
      try {
        method = method_choice(r.speculative.method, r.speculative.n_max);
      } catch (const InputError& e) {
        throw RequestError("speculative.method", e.what());
      }
      job.method = method.plain() ? "none" : method.text;
    } catch (const RequestError& e) {
      metrics.count_bad_request();
      return reply_error(res, 400, e.what(), "invalid_request_error", e.param());
    }

    std::shared_ptr<server::SlotPool::Lease> lease;
    try {
      lease = slots->acquire();
    } catch (const server::QueueFull& e) {
      metrics.count_rejected();
      res.set_header("Retry-After", "1");
      return reply_error(res, 503, e.what(), "server_busy");
    }
    try {
      job.options.speculator = server::speculator_for(lease->slot(), registry, method);
    } catch (const InputError& e) {
      metrics.count_bad_request();
      return reply_error(res, 400, fmt::format("'speculative.method': {}", e.what()), "invalid_request_error",
                         "speculative.method");
    }

    const bool chat = endpoint == Endpoint::ChatCompletions;
    const server::ResponseIdentity id{
        fmt::format("{}-{}-{}", chat ? "chatcmpl" : "cmpl", next_id++, random_suffix()),
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count(),
        options.model_name};

    if (!r.stream) {
      // Nothing is written until the end, so the connection itself is watched for a client that
      // hangs up (a stream notices at its next write).
      server::PeerConnection peer(req.local_addr, req.local_port, req.remote_addr, req.remote_port);
      const server::TextSink watch = [&peer](std::string_view, std::span<const server::EmittedToken>) {
        return !peer.closed();
      };
      if (peer.closed()) {  // gone while it waited for a slot: not even the prompt is evaluated
        server::RequestRecord gone;
        gone.success = false;
        metrics.record(gone);
        return;
      }
      const server::JobOutput out = server::run_generation(lease->slot(), job, watch, cancel_all, arrival);
      metrics.record(out.record);
      res.set_content(server::to_text(server::completion_body(r, out, id)), "application/json");
      return;
    }

    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        "text/event-stream", [this, lease, r, job, id, arrival, chat](size_t, httplib::DataSink& sink) {
          const auto send = [&sink](const json& body) {
            const std::string event = "data: " + server::to_text(body) + "\n\n";
            return sink.write(event.data(), event.size());
          };
          bool client_gone = chat && !send(server::chat_role_chunk(id));
          if (!client_gone) {
            const auto on_text = [&](std::string_view text, std::span<const server::EmittedToken> tokens) {
              return send(server::chunk_body(r, id, text, tokens));
            };
            try {
              const server::JobOutput out = server::run_generation(lease->slot(), job, on_text, cancel_all, arrival);
              metrics.record(out.record);
              client_gone = !send(server::final_chunk(r, out, id));
            } catch (const std::exception& e) {
              client_gone = !send(server::error_body(e.what(), "server_error", {}, 500));
            }
          }
          if (!client_gone) {
            static constexpr std::string_view kDone = "data: [DONE]\n\n";
            sink.write(kDone.data(), kDone.size());
          }
          sink.done();
          return true;
        });
  };
  http.Post("/v1/completions", [handle](const httplib::Request& req, httplib::Response& res) {
    handle(req, res, Endpoint::Completions);
  });
  http.Post("/completions", [handle](const httplib::Request& req, httplib::Response& res) {
    handle(req, res, Endpoint::Completions);
  });
  http.Post("/v1/chat/completions", [handle](const httplib::Request& req, httplib::Response& res) {
    handle(req, res, Endpoint::ChatCompletions);
  });
  http.Post("/chat/completions", [handle](const httplib::Request& req, httplib::Response& res) {
    handle(req, res, Endpoint::ChatCompletions);
  });
}

}  // namespace aded
