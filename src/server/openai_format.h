// The JSON bodies of the OpenAI API as the server writes them: errors, completions, chat
// completions and their streamed chunks, usage, logprobs; plus the aded extensions (timings,
// tokens with how they came). Text is written with invalid UTF-8 replaced, never thrown on.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "server/generation_job.h"
#include "server/request.h"

namespace aded::server {

// {"error": {"message", "type", "param", "code"}}; param null when empty.
nlohmann::json error_body(const std::string& message, const std::string& type, const std::string& param = {},
                          int code = 400);
// Serializes without throwing on invalid UTF-8 (replaced by U+FFFD).
std::string to_text(const nlohmann::json& body);

struct ResponseIdentity {
  std::string id;     // "cmpl-..." or "chatcmpl-..."
  long long created;  // Unix seconds
  std::string model;
};

std::string finish_reason(StopReason stop);
nlohmann::json usage_of(const JobOutput& out);
// The whole response of a request that did not stream.
nlohmann::json completion_body(const CompletionRequest& request, const JobOutput& out, const ResponseIdentity& id);
// One streamed chunk with text (and its tokens when the request asked for them).
nlohmann::json chunk_body(const CompletionRequest& request, const ResponseIdentity& id, std::string_view text,
                          std::span<const EmittedToken> tokens);
// The chat stream's first chunk, which carries the role.
nlohmann::json chat_role_chunk(const ResponseIdentity& id);
// The last chunk: finish reason, timings, and usage (always: clients that did not ask ignore it).
nlohmann::json final_chunk(const CompletionRequest& request, const JobOutput& out, const ResponseIdentity& id);

}  // namespace aded::server
