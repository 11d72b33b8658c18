#include "server/http_server.h"

#include <algorithm>
#include <cstring>

namespace aded::server {

namespace {

// A connection in memory: reads come from the request, writes go to the answer.
class MemoryStream final : public httplib::Stream {
 public:
  MemoryStream(std::string_view in, std::string& out) : in_(in), out_(out) {}
  bool is_readable() const override { return true; }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    const size_t n = std::min(size, in_.size() - read_);
    if (n > 0) std::memcpy(ptr, in_.data() + read_, n);
    read_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    out_.append(ptr, size);
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 0;  // no socket: the peer is never reported gone
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 0;
  }
  socket_t socket() const override { return INVALID_SOCKET; }

 private:
  std::string_view in_;
  size_t read_ = 0;
  std::string& out_;
};

}  // namespace

std::string HttpServer::answer_bytes(std::string_view request) {
  std::string answer;
  MemoryStream stream(request, answer);
  // Requests on one connection, as the listener would serve them, until the bytes run out.
  for (int served = 0; served < 16; ++served) {
    bool closed = false;
    const bool ok = process_request(stream, /*close_connection=*/false, closed, nullptr);
    if (!ok || closed) break;
  }
  return answer;
}

}  // namespace aded::server
