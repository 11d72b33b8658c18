#include "core/output_target.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "aded/error.h"
#include "core/sibling_file.h"
#include "core/termination_signals.h"

namespace aded {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void refuse(const fs::path& destination, const std::string& reason) {
  fail("cannot write '{}': {}", destination.string(), reason);
}

const char* file_kind(mode_t mode) {
  if (S_ISBLK(mode)) return "block device";
  if (S_ISSOCK(mode)) return "socket";
  return "special file";
}

// A new file goes into a folder that must exist (and be one).
void check_folder_of(const fs::path& destination) {
  const fs::path given = destination.parent_path();
  const fs::path folder = given.empty() ? fs::path(".") : given;
  struct stat st {};
  if (::stat(folder.c_str(), &st) != 0) {
    if (errno == ENOENT)
      refuse(destination, fmt::format("the folder '{}' does not exist", folder.string()));
    refuse(destination, std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode))
    refuse(destination, fmt::format("'{}' is not a folder", folder.string()));
}

fs::path absolute_or_refuse(const fs::path& destination, bool follow_links) {
  std::error_code ec;
  fs::path p = follow_links ? fs::canonical(destination, ec) : fs::absolute(destination, ec);
  if (ec) refuse(destination, ec.message());
  return p;
}

}  // namespace

OutputTarget resolve_output(const fs::path& destination) {
  if (destination.empty()) fail("no output file name given");
  OutputTarget t;
  struct stat link {};
  if (::lstat(destination.c_str(), &link) != 0) {
    if (errno != ENOENT) refuse(destination, std::strerror(errno));  // e.g. a path through a file
    check_folder_of(destination);
    t.path = absolute_or_refuse(destination, false);
    return t;
  }
  struct stat st {};
  if (::stat(destination.c_str(), &st) != 0) {
    if (S_ISLNK(link.st_mode) && errno == ENOENT)
      refuse(destination, "it is a symbolic link to a missing file");
    refuse(destination, std::strerror(errno));
  }
  t.exists = true;
  if (S_ISDIR(st.st_mode)) refuse(destination, "it is a folder; give a file name");
  // Renaming over a device or pipe would replace the node itself (even /dev/null, as root).
  if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) {
    t.kind = OutputTarget::Kind::kWriteThrough;
    t.path = destination;  // opened as given: /dev/fd/N of a pipe only opens that way
    return t;
  }
  if (!S_ISREG(st.st_mode))
    refuse(destination, fmt::format("it is a {}; aded writes regular files, character devices "
                                    "(such as /dev/null) and pipes",
                                    file_kind(st.st_mode)));
  // A read-only file is a wish to keep it, even where the folder would allow replacing it.
  if (::access(destination.c_str(), W_OK) != 0) refuse(destination, std::strerror(errno));
  t.mode = st.st_mode & 07777;
  t.path = absolute_or_refuse(destination, S_ISLNK(link.st_mode));
  return t;
}

bool same_file(const fs::path& a, const fs::path& b) {
  struct stat sa {
  }, sb{};
  const bool a_exists = ::stat(a.c_str(), &sa) == 0, b_exists = ::stat(b.c_str(), &sb) == 0;
  if (a_exists && b_exists) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  if (a_exists != b_exists) return false;
  std::error_code ea, eb;
  const fs::path ca = fs::weakly_canonical(fs::absolute(a, ea), ea);
  const fs::path cb = fs::weakly_canonical(fs::absolute(b, eb), eb);
  return !ea && !eb && ca == cb;
}

void check_output_file(const fs::path& destination, std::span<const fs::path> inputs) {
  const OutputTarget t = resolve_output(destination);
  for (const fs::path& input : inputs) {
    if (!input.empty() && same_file(destination, input))
      refuse(destination,
             fmt::format("it is the input file '{}' (the output must be a different file)",
                         input.string()));
  }
  if (t.kind != OutputTarget::Kind::kReplace) return;
  fs::path probe;
  int cleanup_slot = -1;
  const int fd = create_sibling_file(t.path, "probe", probe, cleanup_slot);
  if (fd < 0)
    refuse(destination, fmt::format("cannot create a file in '{}': {}",
                                    t.path.parent_path().string(), std::strerror(errno)));
  ::close(fd);
  ::unlink(probe.c_str());
  unregister_temporary_file(cleanup_slot);
}

void check_output_file(const fs::path& destination, std::initializer_list<fs::path> inputs) {
  check_output_file(destination, std::span<const fs::path>(inputs.begin(), inputs.size()));
}

}  // namespace aded
