#include "server/request.h"

#include <cmath>
#include <limits>
#include <random>

#include <fmt/format.h>

namespace aded::server {

namespace {

using nlohmann::json;

std::string type_name(const json& v) { return v.type_name(); }

[[noreturn]] void wrong_type(const std::string& param, std::string_view expected, const json& v) {
  throw RequestError(param, fmt::format("'{}' must be {}, not {}", param, expected, type_name(v)));
}

// A field of the body, or nullptr when absent or null (OpenAI clients send null for "default").
const json* field(const json& body, const char* key) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

double number(const json& v, const std::string& param, double lo, double hi) {
  if (!v.is_number()) wrong_type(param, "a number", v);
  const double x = v.get<double>();
  if (!std::isfinite(x) || x < lo || x > hi)
    throw RequestError(param, fmt::format("'{}' must be between {} and {}, not {}", param, lo, hi, v.dump()));
  return x;
}

int64_t integer(const json& v, const std::string& param, int64_t lo, int64_t hi) {
  if (!v.is_number_integer()) {
    // 5.0 is an integer to JavaScript clients.
    if (v.is_number_float() && std::isfinite(v.get<double>()) && std::floor(v.get<double>()) == v.get<double>() &&
        std::fabs(v.get<double>()) < 9e15)
      return integer(json(static_cast<int64_t>(v.get<double>())), param, lo, hi);
    wrong_type(param, "an integer", v);
  }
  const bool negative = v.is_number_integer() && !v.is_number_unsigned() && v.get<int64_t>() < 0;
  if (!negative && v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(hi))
    throw RequestError(param, fmt::format("'{}' must be between {} and {}, not {}", param, lo, hi, v.dump()));
  const int64_t x = v.get<int64_t>();
  if (x < lo || x > hi)
    throw RequestError(param, fmt::format("'{}' must be between {} and {}, not {}", param, lo, hi, x));
  return x;
}

bool boolean(const json& v, const std::string& param) {
  if (!v.is_boolean()) wrong_type(param, "true or false", v);
  return v.get<bool>();
}

const std::string& text(const json& v, const std::string& param) {
  if (!v.is_string()) wrong_type(param, "a string", v);
  return v.get_ref<const std::string&>();
}

void parse_prompt(const json& body, CompletionRequest& r) {
  const json* p = field(body, "prompt");
  if (!p) throw RequestError("prompt", "'prompt' is required");
  if (p->is_string()) {
    r.prompt = p->get<std::string>();
    return;
  }
  if (!p->is_array()) wrong_type("prompt", "a string or an array of token ids", *p);
  // ["text"] is one prompt; several prompts in one request are not supported.
  if (p->size() == 1 && (*p)[0].is_string()) {
    r.prompt = (*p)[0].get<std::string>();
    return;
  }
  if (!p->empty() && (*p)[0].is_string())
    throw RequestError("prompt", "several prompts in one request are not supported; send one request per prompt");
  r.prompt_is_tokens = true;
  for (size_t i = 0; i < p->size(); ++i)
    r.prompt_tokens.push_back(static_cast<int32_t>(
        integer((*p)[i], fmt::format("prompt[{}]", i), 0, std::numeric_limits<int32_t>::max())));
}

// Chat content: a string, or an array of parts of which only text parts are supported.
std::string message_content(const json& v, const std::string& param) {
  if (v.is_string()) return v.get<std::string>();
  if (!v.is_array()) wrong_type(param, "a string or an array of text parts", v);
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string part = fmt::format("{}[{}]", param, i);
    if (!v[i].is_object()) wrong_type(part, "an object", v[i]);
    const json* type = field(v[i], "type");
    if (!type || !type->is_string() || type->get<std::string>() != "text")
      throw RequestError(part + ".type", fmt::format("'{}.type' must be \"text\" (only text is supported)", part));
    const json* t = field(v[i], "text");
    if (!t) throw RequestError(part + ".text", fmt::format("'{}.text' is required", part));
    out += text(*t, part + ".text");
  }
  return out;
}

void parse_messages(const json& body, CompletionRequest& r) {
  const json* m = field(body, "messages");
  if (!m) throw RequestError("messages", "'messages' is required");
  if (!m->is_array()) wrong_type("messages", "an array of messages", *m);
  if (m->empty()) throw RequestError("messages", "'messages' must hold at least one message");
  for (size_t i = 0; i < m->size(); ++i) {
    const std::string param = fmt::format("messages[{}]", i);
    const json& msg = (*m)[i];
    if (!msg.is_object()) wrong_type(param, "an object", msg);
    const json* role = field(msg, "role");
    if (!role) throw RequestError(param + ".role", fmt::format("'{}.role' is required", param));
    std::string name = text(*role, param + ".role");
    if (name == "developer") name = "system";  // OpenAI's newer name for it
    if (name != "system" && name != "user" && name != "assistant")
      throw RequestError(param + ".role", fmt::format("'{}.role' must be system, user or assistant, not \"{}\"",
                                                      param, name.substr(0, 64)));
    const json* content = field(msg, "content");
    r.messages.push_back({name, content ? message_content(*content, param + ".content") : std::string()});
  }
}

void parse_stop(const json& body, CompletionRequest& r, const RequestLimits& limits) {
  const json* s = field(body, "stop");
  if (!s) return;
  auto add = [&](const json& v, const std::string& param) {
    const std::string& t = text(v, param);
    if (t.empty()) throw RequestError(param, fmt::format("'{}' must not be empty", param));
    if (t.size() > limits.max_stop_bytes)
      throw RequestError(param, fmt::format("'{}' is longer than {} bytes", param, limits.max_stop_bytes));
    r.stop.push_back(t);
  };
  if (s->is_string()) return add(*s, "stop");
  if (!s->is_array()) wrong_type("stop", "a string or an array of strings", *s);
  if (s->size() > static_cast<size_t>(limits.max_stop_strings))
    throw RequestError("stop", fmt::format("'stop' holds more than {} strings", limits.max_stop_strings));
  for (size_t i = 0; i < s->size(); ++i) add((*s)[i], fmt::format("stop[{}]", i));
}

void parse_sampling(const json& body, CompletionRequest& r) {
  SamplingParams& s = r.sampling;
  if (const json* v = field(body, "temperature")) s.temperature = static_cast<float>(number(*v, "temperature", 0, 100));
  if (const json* v = field(body, "top_p")) s.top_p = static_cast<float>(number(*v, "top_p", 0, 1));
  if (const json* v = field(body, "top_k")) s.top_k = static_cast<int>(integer(*v, "top_k", 0, 1 << 20));
  if (const json* v = field(body, "min_p")) s.min_p = static_cast<float>(number(*v, "min_p", 0, 1));
  if (const json* v = field(body, "repeat_penalty")) s.repeat_penalty = static_cast<float>(number(*v, "repeat_penalty", 0, 100));
  if (const json* v = field(body, "seed")) {
    s.seed = static_cast<uint64_t>(integer(*v, "seed", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()));
    r.seed_given = true;
  } else {
    s.seed = std::random_device{}();
  }
  for (const char* unsupported : {"frequency_penalty", "presence_penalty"})
    if (const json* v = field(body, unsupported); v && number(*v, unsupported, -2, 2) != 0)
      throw RequestError(unsupported, fmt::format("'{}' is not supported (only 0)", unsupported));
  // One choice per request.
  for (const char* key : {"n", "best_of"})
    if (const json* v = field(body, key)) integer(*v, key, 1, 1);
}

void parse_logprobs(const json& body, CompletionRequest& r, const RequestLimits& limits) {
  if (const json* v = field(body, "logprobs")) {
    // Chat: true or false; completions: how many alternatives (only the chosen token is given).
    r.logprobs = v->is_boolean() ? v->get<bool>() : (integer(*v, "logprobs", 0, limits.max_logprobs), true);
  }
  if (const json* v = field(body, "top_logprobs")) integer(*v, "top_logprobs", 0, limits.max_logprobs);
  if (const json* v = field(body, "n_probs")) r.logprobs = integer(*v, "n_probs", 0, limits.max_logprobs) > 0 || r.logprobs;
}

void parse_speculative(const json& body, CompletionRequest& r) {
  const json* s = field(body, "speculative");
  if (!s) return;
  if (!s->is_object()) wrong_type("speculative", "an object such as {\"method\": \"pld\", \"n_max\": 8}", *s);
  if (const json* m = field(*s, "method")) {
    const std::string& t = text(*m, "speculative.method");
    if (t.empty() || t.size() > 1024)
      throw RequestError("speculative.method", "'speculative.method' must be a method string of 1 to 1024 bytes");
    r.speculative.method = t;
  }
  if (const json* n = field(*s, "n_max")) r.speculative.n_max = static_cast<int>(integer(*n, "speculative.n_max", 0, 256));
}

}  // namespace

json parse_json_body(std::string_view body) {
  try {
    return json::parse(body);
  } catch (const json::exception& e) {
    // A syntax error, or a number too large for a double (out_of_range).
    throw RequestError("", fmt::format("the body is not valid JSON: {}", e.what()));
  }
}

CompletionRequest parse_completion_request(std::string_view body, Endpoint endpoint, const RequestLimits& limits) {
  return parse_completion_json(parse_json_body(body), endpoint, limits);
}

CompletionRequest parse_completion_json(const json& body, Endpoint endpoint, const RequestLimits& limits) {
  if (!body.is_object()) throw RequestError("", "the body must be a JSON object, not " + type_name(body));
  CompletionRequest r;
  r.endpoint = endpoint;
  if (const json* m = field(body, "model")) r.model = text(*m, "model");
  if (endpoint == Endpoint::Completions) parse_prompt(body, r);
  else parse_messages(body, r);
  r.max_tokens = limits.default_max_tokens;
  // max_completion_tokens is the newer name in the chat API; n_predict is llama.cpp's.
  for (const char* key : {"max_tokens", "max_completion_tokens", "n_predict"})
    if (const json* v = field(body, key)) r.max_tokens = static_cast<int>(integer(*v, key, 0, limits.max_tokens));
  parse_sampling(body, r);
  parse_stop(body, r, limits);
  parse_logprobs(body, r, limits);
  parse_speculative(body, r);
  if (const json* v = field(body, "stream")) r.stream = boolean(*v, "stream");
  if (const json* v = field(body, "stream_options")) {
    if (!v->is_object()) wrong_type("stream_options", "an object", *v);
    if (const json* u = field(*v, "include_usage")) r.include_usage_in_stream = boolean(*u, "stream_options.include_usage");
  }
  if (const json* v = field(body, "return_tokens")) r.return_tokens = boolean(*v, "return_tokens");
  return r;
}

}  // namespace aded::server
