#include "core/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "aded/error.h"
#include "core/sibling_file.h"
#include "core/termination_signals.h"

namespace aded {

namespace fs = std::filesystem;

namespace {

// The rename is durable only once the folder's entry is on disk too. Best effort: some file
// systems cannot sync a folder, and the file itself is complete either way.
void sync_folder(const fs::path& folder) {
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

OutputFile::OutputFile(fs::path destination)
    : destination_(std::move(destination)), target_(resolve_output(destination_)) {
  if (target_.kind == OutputTarget::Kind::kWriteThrough) {
    // O_NONBLOCK: a named pipe nobody reads would otherwise block the open forever. The writes
    // then block as usual, following the reader.
    fd_ = ::open(target_.path.c_str(), O_WRONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd_ < 0 && errno == ENXIO) fail_with("it is a named pipe with no reader", ENXIO);
    if (fd_ < 0) fail_with("cannot open it", errno);
    const int flags = ::fcntl(fd_, F_GETFL);
    if (flags < 0 || ::fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK) != 0)
      fail_with("cannot open it", errno);
    return;
  }
  fd_ = create_sibling_file(target_.path, "tmp", temporary_, cleanup_slot_);
  if (fd_ < 0) {
    const int error_number = errno;
    temporary_.clear();
    fail_with(
        fmt::format("cannot create a file in '{}'", target_.path.parent_path().string()).c_str(),
        error_number);
  }
  if (target_.exists && ::fchmod(fd_, target_.mode) != 0)
    fail_with("cannot set its permissions", errno);
}

OutputFile::~OutputFile() {
  discard();
}

void OutputFile::write(const void* data, size_t size) {
  if (fd_ < 0)
    throw Error(fmt::format("'{}': written after it was finished", destination_.string()));
  const auto* bytes = static_cast<const char*>(data);
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(fd_, bytes + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_with("write failed", errno);
    if (n == 0) fail_with("write failed", ENOSPC);  // write(2) wrote nothing and said no why
    done += static_cast<size_t>(n);
  }
  written_ += size;
}

void OutputFile::commit() {
  if (fd_ < 0) throw Error(fmt::format("'{}': finished twice", destination_.string()));
  if (temporary_.empty()) {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail_with("write failed", errno);
    return;
  }
  // Delayed allocation: a full disk may show only at fsync or close.
  if (::fsync(fd_) != 0) fail_with("write failed", errno);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail_with("write failed", errno);
  if (std::rename(temporary_.c_str(), target_.path.c_str()) != 0)
    fail_with("cannot put it in place", errno);
  temporary_.clear();
  unregister_temporary_file(cleanup_slot_);
  cleanup_slot_ = -1;
  sync_folder(target_.path.parent_path());
}

void OutputFile::fail_with(const char* what, int error_number) {
  discard();
  throw Error(fmt::format("cannot write '{}': {}: {}", destination_.string(), what,
                          std::strerror(error_number)));
}

// Leaves the destination as it was: the temporary file goes (a device was written through, and
// what went through stays written).
void OutputFile::discard() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!temporary_.empty()) ::unlink(temporary_.c_str());
  temporary_.clear();
  unregister_temporary_file(cleanup_slot_);
  cleanup_slot_ = -1;
}

void write_output_file(const fs::path& destination, std::string_view bytes) {
  OutputFile out(destination);
  out.write(bytes.data(), bytes.size());
  out.commit();
}

void write_output_file(const fs::path& destination, std::span<const uint8_t> bytes) {
  OutputFile out(destination);
  out.write(bytes);
  out.commit();
}

}  // namespace aded
