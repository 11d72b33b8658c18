// A full disk for this process alone: the file-size limit (RLIMIT_FSIZE). A write past it fails
// with EFBIG ("File too large") half-way through a file, as one fails with ENOSPC on a full disk;
// SIGXFSZ, which would end the process, is ignored meanwhile. Works as root too.
#pragma once

#include <sys/resource.h>

#include <csignal>

namespace aded::testing {

class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    rlimit limit = saved_;
    limit.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &limit);
    previous_ = std::signal(SIGXFSZ, SIG_IGN);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, previous_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit saved_{};
  void (*previous_)(int) = nullptr;
};

}  // namespace aded::testing
