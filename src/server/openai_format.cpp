#include "server/openai_format.h"

#include <cmath>

namespace aded::server {

using nlohmann::json;

namespace {

bool is_chat(const CompletionRequest& r) { return r.endpoint == Endpoint::ChatCompletions; }

double log_probability(float p) { return p > 0 ? std::log(static_cast<double>(p)) : -9999.0; }

// OpenAI's logprobs of the completions API: only the chosen token is known.
json completion_logprobs(std::span<const EmittedToken> tokens, size_t text_offset) {
  json out = {{"tokens", json::array()}, {"token_logprobs", json::array()}, {"top_logprobs", json::array()},
              {"text_offset", json::array()}};
  for (const auto& t : tokens) {
    const double lp = log_probability(t.probability);
    out["tokens"].push_back(t.text);
    out["token_logprobs"].push_back(lp);
    out["top_logprobs"].push_back(json::object({{t.text, lp}}));
    out["text_offset"].push_back(text_offset);
    text_offset += t.text.size();
  }
  return out;
}

json chat_logprobs(std::span<const EmittedToken> tokens) {
  json content = json::array();
  for (const auto& t : tokens) {
    const double lp = log_probability(t.probability);
    json bytes = json::array();
    for (unsigned char c : t.text) bytes.push_back(c);
    content.push_back({{"token", t.text}, {"logprob", lp}, {"bytes", bytes},
                       {"top_logprobs", json::array({{{"token", t.text}, {"logprob", lp}, {"bytes", bytes}}})}});
  }
  return {{"content", content}};
}

json token_list(std::span<const EmittedToken> tokens) {
  json list = json::array();
  for (const auto& t : tokens) list.push_back({{"id", t.id}, {"text", t.text}, {"drafted", t.drafted}, {"step", t.step}});
  return list;
}

json envelope(const CompletionRequest& r, const ResponseIdentity& id, bool chunk) {
  return {{"id", id.id},
          {"object", is_chat(r) ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion"},
          {"created", id.created},
          {"model", id.model},
          {"system_fingerprint", "aded"}};
}

}  // namespace

json error_body(const std::string& message, const std::string& type, const std::string& param, int code) {
  return {{"error",
           {{"message", message}, {"type", type}, {"param", param.empty() ? json(nullptr) : json(param)}, {"code", code}}}};
}

std::string to_text(const json& body) { return body.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string finish_reason(StopReason stop) {
  switch (stop) {
    case StopReason::MaxTokens:
    case StopReason::ContextFull: return "length";
    case StopReason::EndOfGeneration:
    case StopReason::StopString:
    case StopReason::Cancelled: return "stop";
  }
  return "stop";
}

json usage_of(const JobOutput& out) {
  const auto& s = out.generation.stats;
  return {{"prompt_tokens", s.prompt_tokens},
          {"completion_tokens", s.generated},
          {"total_tokens", s.prompt_tokens + s.generated},
          {"prompt_tokens_details", {{"cached_tokens", s.prompt_tokens_cached}}}};
}

json completion_body(const CompletionRequest& r, const JobOutput& out, const ResponseIdentity& id) {
  json body = envelope(r, id, false);
  json choice = {{"index", 0}, {"finish_reason", finish_reason(out.generation.stop)}};
  if (is_chat(r)) {
    choice["message"] = {{"role", "assistant"}, {"content", out.generation.text}};
    choice["logprobs"] = r.logprobs ? chat_logprobs(out.tokens) : json(nullptr);
  } else {
    choice["text"] = out.generation.text;
    choice["logprobs"] = r.logprobs ? completion_logprobs(out.tokens, 0) : json(nullptr);
  }
  if (r.return_tokens) choice["tokens"] = token_list(out.tokens);
  body["choices"] = json::array({choice});
  body["usage"] = usage_of(out);
  body["timings"] = out.timings;
  body["stop_reason"] = std::string(stop_reason_name(out.generation.stop));
  return body;
}

json chunk_body(const CompletionRequest& r, const ResponseIdentity& id, std::string_view text,
                std::span<const EmittedToken> tokens) {
  json body = envelope(r, id, true);
  json choice = {{"index", 0}, {"finish_reason", nullptr}};
  if (is_chat(r)) {
    choice["delta"] = {{"content", std::string(text)}};
    choice["logprobs"] = r.logprobs ? chat_logprobs(tokens) : json(nullptr);
  } else {
    choice["text"] = std::string(text);
    choice["logprobs"] = r.logprobs ? completion_logprobs(tokens, 0) : json(nullptr);
  }
  if (r.return_tokens) choice["tokens"] = token_list(tokens);
  body["choices"] = json::array({choice});
  return body;
}

json chat_role_chunk(const ResponseIdentity& id) {
  CompletionRequest chat;
  chat.endpoint = Endpoint::ChatCompletions;
  json body = envelope(chat, id, true);
  body["choices"] = json::array({{{"index", 0}, {"delta", {{"role", "assistant"}, {"content", ""}}}, {"logprobs", nullptr},
                                  {"finish_reason", nullptr}}});
  return body;
}

json final_chunk(const CompletionRequest& r, const JobOutput& out, const ResponseIdentity& id) {
  json body = envelope(r, id, true);
  json choice = {{"index", 0}, {"finish_reason", finish_reason(out.generation.stop)}, {"logprobs", nullptr}};
  if (is_chat(r)) choice["delta"] = json::object();
  else choice["text"] = "";
  body["choices"] = json::array({choice});
  body["usage"] = usage_of(out);
  body["timings"] = out.timings;
  body["stop_reason"] = std::string(stop_reason_name(out.generation.stop));
  return body;
}

}  // namespace aded::server
