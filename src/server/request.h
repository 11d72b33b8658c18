// A generation request as the OpenAI API (and llama.cpp's extensions) spell it, parsed from JSON
// and checked field by field: a bad value is a RequestError naming the field and the problem, which
// the server answers with 400. Fields the server does not know are ignored, as OpenAI clients send
// optional ones freely.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "aded/sampler.h"
#include "server/chat_template.h"

namespace aded::server {

// A field that is missing, of the wrong type or out of range.
class RequestError : public std::runtime_error {
 public:
  RequestError(std::string param, const std::string& message)
      : std::runtime_error(message), param_(std::move(param)) {}
  const std::string& param() const { return param_; }  // "max_tokens", "messages[1].content"; empty: the body

 private:
  std::string param_;
};

enum class Endpoint { Completions, ChatCompletions };

// Server-wide bounds every request is checked against.
struct RequestLimits {
  int max_tokens = 4096;     // the most tokens one request may ask for
  int default_max_tokens = 256;
  int max_stop_strings = 16;
  size_t max_stop_bytes = 256;
  int max_logprobs = 20;
};

struct SpeculationRequest {
  std::optional<std::string> method;  // a method string ("pld", "aded:search=mcts", "none")
  std::optional<int> n_max;           // the most draft tokens per step; 0 turns drafting off
};

struct CompletionRequest {
  Endpoint endpoint = Endpoint::Completions;
  // /v1/completions: the prompt as text, or as token ids.
  std::string prompt;
  std::vector<int32_t> prompt_tokens;
  bool prompt_is_tokens = false;
  // /v1/chat/completions
  std::vector<ChatMessage> messages;

  int max_tokens = 256;
  SamplingParams sampling;
  bool seed_given = false;
  std::vector<std::string> stop;
  bool stream = false;
  // stream_options.include_usage: checked, though the last chunk carries usage whatever it says.
  bool include_usage_in_stream = false;
  // Report each token's probability: completions' logprobs (an integer), chat's logprobs (true),
  // or llama.cpp's n_probs. Only the chosen token's is computed (the cheap part).
  bool logprobs = false;
  bool return_tokens = false;  // aded extension: each stream chunk lists its tokens and how they came
  SpeculationRequest speculative;
  std::string model;
};

// Parses a request body. Throws RequestError (param empty for a body that is not a JSON object).
CompletionRequest parse_completion_request(std::string_view body, Endpoint endpoint, const RequestLimits& limits = {});
CompletionRequest parse_completion_json(const nlohmann::json& body, Endpoint endpoint,
                                           const RequestLimits& limits = {});

// JSON parsing with the error as a RequestError ("the body is not valid JSON: ...").
nlohmann::json parse_json_body(std::string_view body);

}  // namespace aded::server
