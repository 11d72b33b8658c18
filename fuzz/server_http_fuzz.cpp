// libFuzzer target: raw bytes on a connection to aded serve (request lines, headers, bodies, one
// request or several), through cpp-httplib's parser and every route of the server, on the
// committed demo model with small limits. Whatever arrives, the answer is HTTP (each answered
// request gets a status line), never a crash, a sanitizer report, a leak or a hang.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "aded/model.h"
#include "aded/server.h"

namespace {

void check(bool ok, const char* invariant) {
  if (ok) return;
  std::fprintf(stderr, "server_http_fuzz: invariant violated: %s\n", invariant);
  std::abort();
}

aded::Server& server() {
  static const std::unique_ptr<aded::Server> s = [] {
    aded::ServerOptions o;
    o.port = 0;
    o.context.n_threads = 1;
    o.context.n_ctx = 256;
    o.chat_template = "chatml";
    o.max_tokens = 8;  // small generations keep the fuzzer fast; the limits themselves get fuzzed
    o.default_max_tokens = 4;
    o.max_body_bytes = 1 << 16;
    auto model = aded::Model::load(std::string(ADED_SOURCE_DIR) + "/models/demo-python.gguf");
    return std::make_unique<aded::Server>(model, o);
  }();
  return *s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string answer = server().answer_http_bytes(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!answer.empty()) check(answer.rfind("HTTP/1.1 ", 0) == 0, "an answer starts with a status line");
  return 0;
}
