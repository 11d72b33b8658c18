// libFuzzer target: request bodies of aded serve (JSON -> a generation request), for both
// /v1/completions and /v1/chat/completions, and the response JSON written for what parsed. Any
// input must be refused with a RequestError or give a request whose every field is in range;
// the response writer must never throw (invalid UTF-8 is replaced).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "server/openai_format.h"
#include "server/request.h"

namespace {

void check(bool ok, const char* invariant) {
  if (ok) return;
  std::fprintf(stderr, "server_request_fuzz: invariant violated: %s\n", invariant);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace aded::server;
  const std::string body(reinterpret_cast<const char*>(data), size);
  RequestLimits limits;
  limits.max_tokens = 512;
  for (Endpoint endpoint : {Endpoint::Completions, Endpoint::ChatCompletions}) {
    CompletionRequest r;
    try {
      r = parse_completion_request(body, endpoint, limits);
    } catch (const RequestError& e) {
      check(e.what()[0] != '\0', "an error has a message");
      continue;
    }
    check(r.max_tokens >= 0 && r.max_tokens <= limits.max_tokens, "max_tokens in range");
    check(r.sampling.temperature >= 0 && r.sampling.top_p >= 0 && r.sampling.top_p <= 1, "sampling in range");
    check(r.stop.size() <= static_cast<size_t>(limits.max_stop_strings), "stop strings bounded");
    for (const auto& s : r.stop) check(!s.empty() && s.size() <= limits.max_stop_bytes, "stop string size");
    check(!r.speculative.n_max || (*r.speculative.n_max >= 0 && *r.speculative.n_max <= 256), "n_max in range");
    if (endpoint == Endpoint::ChatCompletions) check(!r.messages.empty(), "chat has messages");
    // Echo what parsed through the response writer, as the server would.
    JobOutput out;
    out.generation.text = r.endpoint == Endpoint::ChatCompletions ? r.messages[0].content : r.prompt;
    out.tokens.push_back({1, out.generation.text, true, 0, 0.5f});
    const ResponseIdentity id{"cmpl-1", 0, r.model};
    (void)to_text(completion_body(r, out, id));
    (void)to_text(chunk_body(r, id, out.generation.text, out.tokens));
  }
  return 0;
}
