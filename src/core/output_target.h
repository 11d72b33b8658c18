// Where an output file really goes, and whether it may go there. Shared by OutputFile (which
// writes) and the commands' checks before long work (which refuse early what would fail late).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <initializer_list>
#include <span>

namespace aded {

struct OutputTarget {
  enum class Kind {
    kReplace,       // a regular file (or none yet): a temporary file renamed over it
    kWriteThrough,  // a character device (/dev/null) or a pipe: opened and written as it is
  };
  Kind kind = Kind::kReplace;
  // The file to replace or to open: a symbolic link resolved to the file it points to, so the
  // link stays and its target gets the new contents.
  std::filesystem::path path;
  bool exists = false;
  mode_t mode = 0;  // permission bits of the file replaced (kept), when it exists
};

// Resolves `destination`; throws aded::InputError naming it for what can never be written: an
// empty name, a folder, a dangling link, a missing folder or a path through a file, a block
// device or socket, a regular file without write permission.
OutputTarget resolve_output(const std::filesystem::path& destination);

// Whether a and b are one file: same device and inode when both exist (another spelling, a
// symbolic link or a hard link counts as the same file), else the same resolved path.
bool same_file(const std::filesystem::path& a, const std::filesystem::path& b);

// Refuses, before any long work, a destination that would fail at the end or clobber an input:
// everything resolve_output refuses, a folder where no file can be created (tried: a file is
// created and removed, which catches read-only file systems, permissions and /proc or /sys), and
// a destination that is one of `inputs`. Throws aded::InputError naming the file and the reason.
void check_output_file(const std::filesystem::path& destination,
                       std::span<const std::filesystem::path> inputs = {});
void check_output_file(const std::filesystem::path& destination,
                       std::initializer_list<std::filesystem::path> inputs);

}  // namespace aded
