#include "report/output_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "aded/error.h"

namespace aded::report {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail_io(const std::string& what, const fs::path& path) {
  throw Error(fmt::format("cannot {} '{}': {}", what, path.string(), std::strerror(errno)));
}

void write_all(int fd, const std::string& bytes, const fs::path& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail_io("write", path);
    done += static_cast<size_t>(n);
  }
}

// A new file next to `target`, named so that it is hidden and never collides.
int create_sibling(const fs::path& target, fs::path& created) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    created = target.parent_path() /
              fmt::format(".{}.tmp-{}-{}", target.filename().string(), ::getpid(), attempt);
    const int fd = ::open(created.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  return -1;
}

void replace_atomically(const std::string& bytes, const fs::path& target) {
  fs::path temporary;
  const int fd = create_sibling(target, temporary);
  if (fd < 0) fail_io("create a file next to", target);
  try {
    write_all(fd, bytes, temporary);
    if (::close(fd) != 0) fail_io("write", temporary);
  } catch (...) {
    ::unlink(temporary.c_str());
    throw;
  }
  if (std::rename(temporary.c_str(), target.c_str()) != 0) {
    const int saved = errno;
    ::unlink(temporary.c_str());
    errno = saved;
    fail_io("replace", target);
  }
}

void write_through(const std::string& bytes, const fs::path& target) {
  const int fd = ::open(target.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail_io("open", target);
  try {
    write_all(fd, bytes, target);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
}

}  // namespace

void publish_file(const std::string& bytes, const fs::path& destination) {
  std::error_code ec;
  fs::path target = destination.empty() ? destination : fs::absolute(destination, ec);
  if (target.empty()) throw Error("no output file name");
  if (fs::is_symlink(fs::symlink_status(target, ec))) {
    target = fs::canonical(target, ec);
    if (ec)
      throw Error(fmt::format("'{}' is a symbolic link to a missing file", destination.string()));
  }
  const fs::file_status status = fs::status(target, ec);
  if (fs::is_directory(status))
    throw Error(fmt::format("'{}' is a directory", destination.string()));
  if (fs::exists(status) && !fs::is_regular_file(status))
    write_through(bytes, target);
  else
    replace_atomically(bytes, target);
}

}  // namespace aded::report
