// What SIGINT, SIGTERM and SIGHUP do to aded. By default they end the process as usual, but first
// every temporary file being written (registered here by OutputFile) is removed, so an interrupted
// write leaves nothing behind. While a GracefulStop lives, the first SIGINT or SIGTERM only asks
// the work to stop at a good moment (the trainer checkpoints and returns); a second one ends the
// process as above. A signal that was ignored when aded started (nohup, a background job of a
// script) stays ignored, except SIGINT and SIGTERM inside a GracefulStop (`kill -INT` of a
// background `aded train` stops it gracefully); a handler someone else installed is left alone.
// SIGXFSZ (a write past `ulimit -f`) is ignored, so that the write fails with EFBIG and its
// temporary is removed like on a full disk, instead of the signal ending the process.
#pragma once

#include <string>

namespace aded {

// Remembers `path` (a temporary file being written) until unregister_temporary_file(slot).
// Returns -1 when it cannot be remembered (all slots taken, or a path over 4095 bytes): the
// write goes on, only without the cleanup.
int register_temporary_file(const std::string& path);
void unregister_temporary_file(int slot);

// A scope in which SIGINT and SIGTERM ask the work to stop instead of ending the process.
class GracefulStop {
 public:
  GracefulStop();
  ~GracefulStop();
  GracefulStop(const GracefulStop&) = delete;
  GracefulStop& operator=(const GracefulStop&) = delete;

  // Whether a stop was asked for since the scope began.
  bool requested() const;
  // The signal that asked for it (SIGINT or SIGTERM), 0 when none did.
  int signal() const;
};

}  // namespace aded
