// The one way aded writes a file (models, tri-gram tables, checkpoints, token caches, reports):
// readers see the old file or the whole new one, never half of it, and a failure leaves nothing.
//
// A regular file (or a new one) is written into a temporary file in its folder, which is synced
// and renamed over it at commit(); the file's permission bits are kept. A symbolic link is
// followed: the file it points to gets the new contents, the link stays. A character device
// (/dev/null, /dev/full) or a pipe is written through, never replaced (renaming over it would
// replace the node itself, even as root); a named pipe nobody reads is refused, not waited for.
// Folders, dangling links, block devices and sockets are refused. Every write, sync, close and
// rename is checked; a failure throws aded::Error naming the destination and the reason (strerror),
// and removes the temporary file. So does an OutputFile destroyed without commit() (an exception
// while producing the contents), and so does SIGINT, SIGTERM or SIGHUP while it is being written
// (core/termination_signals.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

#include "core/output_target.h"

namespace aded {

class OutputFile {
 public:
  // Opens the destination for writing (see resolve_output for what is refused up front).
  explicit OutputFile(std::filesystem::path destination);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  // Appends the bytes (one write(2) loop per call: give it large pieces).
  void write(const void* data, size_t size);
  void write(std::span<const uint8_t> bytes) { write(bytes.data(), bytes.size()); }
  // The file is complete: synced, closed and put in place. Nothing may be written after it.
  void commit();

  uint64_t bytes_written() const { return written_; }
  const std::filesystem::path& destination() const { return destination_; }

 private:
  [[noreturn]] void fail_with(const char* what, int error_number);
  void discard() noexcept;

  std::filesystem::path destination_;
  OutputTarget target_;
  std::filesystem::path temporary_;  // empty when written through
  int fd_ = -1;
  int cleanup_slot_ = -1;
  uint64_t written_ = 0;
};

// Writes a whole file at once through an OutputFile.
void write_output_file(const std::filesystem::path& destination, std::string_view bytes);
void write_output_file(const std::filesystem::path& destination, std::span<const uint8_t> bytes);

}  // namespace aded
