// What the server's parts share: the model, the options, the slots, the metrics and the HTTP
// listener (server.cpp starts and stops it; completion_routes.cpp and info_routes.cpp answer).
#pragma once

#include <httplib.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "aded/drafter_registry.h"
#include "aded/server.h"
#include "server/chat_template.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "server/request.h"
#include "server/slots.h"

namespace aded {

struct Server::Impl {
  Impl(std::shared_ptr<const Model> m, ServerOptions o);

  std::shared_ptr<const Model> model;
  ServerOptions options;
  DrafterRegistry registry = DrafterRegistry::with_builtin_methods();
  std::vector<SettingValue> settings;  // cross-request default, then the flags
  std::optional<server::ChatFormat> chat_format;
  std::string chat_refusal;
  server::RequestLimits limits;
  std::unique_ptr<server::SlotPool> slots;
  server::ServerMetrics metrics;
  server::HttpServer http;
  std::thread listener;
  int bound_port = -1;
  std::atomic<bool> stopping{false};
  std::atomic<bool> cancel_all{false};
  std::atomic<uint64_t> next_id{1};
  std::mutex stop_mutex;
  bool stopped = false;

  void add_routes();
  void add_info_routes();
  void add_completion_routes();
  // A method string of a request (or the server's default) checked against the registry.
  MethodChoice method_choice(const std::optional<std::string>& method, const std::optional<int>& n_max) const;
  void reply_error(httplib::Response& res, int status, const std::string& message, const std::string& type,
                   const std::string& param = {});
};

}  // namespace aded
