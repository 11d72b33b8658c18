// A server on the committed demo model (models/demo-python.gguf), on a free loopback port, and
// an httplib client for it.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "aded/model.h"
#include "aded/server.h"

namespace aded::testing {

inline std::filesystem::path demo_model_path() {
  return std::filesystem::path(ADED_TEST_DATA_DIR) / ".." / ".." / "models" / "demo-python.gguf";
}

inline std::shared_ptr<const Model> demo_model() {
  static const std::shared_ptr<const Model> model = Model::load(demo_model_path().string());
  return model;
}

inline ServerOptions test_options() {
  ServerOptions o;
  o.port = 0;
  o.context.n_threads = 1;  // one thread: steady on a loaded machine; the slots share it
  o.drain_seconds = 5;
  return o;
}

struct RunningServer {
  explicit RunningServer(ServerOptions options = test_options())
      : server(demo_model(), std::move(options)), port(server.start()), client("127.0.0.1", port) {
    client.set_read_timeout(60);
  }
  Server server;
  int port;
  httplib::Client client;

  // POST path with a JSON body; the response (fails the test when there is none).
  httplib::Result post(const std::string& path, const nlohmann::json& body) {
    return client.Post(path.c_str(), body.dump(), "application/json");
  }
};

// The data: lines of a server-sent event stream, in order ("[DONE]" included).
inline std::vector<std::string> sse_data(const std::string& stream) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < stream.size()) {
    size_t end = stream.find("\n\n", start);
    if (end == std::string::npos) end = stream.size();
    const std::string event = stream.substr(start, end - start);
    if (event.rfind("data: ", 0) == 0) out.push_back(event.substr(6));
    start = end + 2;
  }
  return out;
}

}  // namespace aded::testing
