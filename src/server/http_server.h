// cpp-httplib's server with one addition: answering a request given as raw bytes, without a
// socket, through the same parser, routes and writers a connection goes through. The HTTP fuzz
// target drives the whole server this way.
#pragma once

#include <httplib.h>

#include <string>
#include <string_view>

namespace aded::server {

class HttpServer : public httplib::Server {
 public:
  // Everything the server writes back for the request (or requests) in `request`; the connection
  // counts as closed after them.
  std::string answer_bytes(std::string_view request);
};

}  // namespace aded::server
