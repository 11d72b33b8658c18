// The TCP connection a request arrived on, watched for its client going away. A non-streaming
// request writes nothing until it is done, so no failed write tells the server that the client
// hung up; cpp-httplib 0.11 (Debian 12's) gives a handler neither the socket nor a closed check.
// The socket is found among the process's descriptors by the request's two addresses (a TCP
// connection is unique by them); it stays open until the handler returns.
#pragma once

#include <string>

namespace aded::server {

class PeerConnection {
 public:
  // Looks the connection up; not found (a platform without /proc, a test without a socket): the
  // client is never reported gone.
  PeerConnection(const std::string& local_addr, int local_port, const std::string& remote_addr, int remote_port);

  bool found() const { return fd_ >= 0; }
  // True once the client has closed, shut down or reset its end. Looks at the socket at most every
  // few milliseconds (it is asked once per generated token).
  bool closed();

 private:
  int fd_ = -1;
  bool closed_ = false;
  double next_check_ = 0;  // monotonic seconds
};

}  // namespace aded::server
