#include "server/peer_connection.h"

#include <dirent.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>

namespace aded::server {

namespace {

constexpr double kCheckEverySeconds = 0.005;

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// An address as cpp-httplib writes it into Request (getnameinfo, numeric host and port).
bool same_address(const sockaddr_storage& a, socklen_t length, const std::string& host, int port) {
  char h[NI_MAXHOST], p[NI_MAXSERV];
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&a), length, h, sizeof h, p, sizeof p,
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return false;
  return host == h && port == std::atoi(p);
}

bool is_connection(int fd, const std::string& local_addr, int local_port, const std::string& remote_addr,
                   int remote_port) {
  struct stat st{};
  if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return false;
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
      !same_address(address, length, remote_addr, remote_port))
    return false;
  length = sizeof address;
  return getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0 &&
         same_address(address, length, local_addr, local_port);
}

}  // namespace

PeerConnection::PeerConnection(const std::string& local_addr, int local_port, const std::string& remote_addr,
                               int remote_port) {
  if (local_port <= 0 || remote_port <= 0) return;
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return;
  const int own = dirfd(dir);
  while (const dirent* entry = readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == own) continue;
    if (is_connection(static_cast<int>(fd), local_addr, local_port, remote_addr, remote_port)) {
      fd_ = static_cast<int>(fd);
      break;
    }
  }
  closedir(dir);
}

bool PeerConnection::closed() {
  if (fd_ < 0 || closed_) return closed_;
  const double now = now_seconds();
  if (now < next_check_) return false;
  next_check_ = now + kCheckEverySeconds;
  // POLLRDHUP: the client shut its side (a FIN); POLLHUP/POLLERR: reset or gone. Data waiting
  // (a pipelined request) is not a hang-up and is left unread.
  pollfd p{fd_, POLLRDHUP, 0};
  if (poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))) closed_ = true;
  return closed_;
}

}  // namespace aded::server
