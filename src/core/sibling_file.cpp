#include "core/sibling_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include <fmt/format.h>

#include "core/termination_signals.h"

namespace aded {

int create_sibling_file(const std::filesystem::path& target, const char* tag,
                        std::filesystem::path& created, int& cleanup_slot) {
  // A file name may have 255 bytes: a long one is shortened to leave room for the suffix.
  std::string name = target.filename().string();
  if (name.size() > 200) name.resize(200);
  for (int attempt = 0; attempt < 100; ++attempt) {
    created = target.parent_path() / fmt::format(".{}.{}-{}-{}", name, tag, ::getpid(), attempt);
    cleanup_slot = register_temporary_file(created.string());
    const int fd = ::open(created.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) return fd;
    const int error_number = errno;
    unregister_temporary_file(cleanup_slot);
    cleanup_slot = -1;
    errno = error_number;
    if (errno != EEXIST) return -1;
  }
  errno = EEXIST;
  return -1;
}

}  // namespace aded
