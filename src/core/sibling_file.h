// A new, empty file next to another one: where a replacement is written before it is renamed
// over the original (a rename is only atomic within one file system, so it must be the same
// folder).
#pragma once

#include <filesystem>

namespace aded {

// Creates `.NAME.TAG-PID-N` beside `target` (hidden, and never an existing file: O_EXCL) for
// writing, mode 0666 less the umask. Its name is registered for removal on a termination signal
// before the file exists, so there is no moment where a signal would leave it behind; give
// `cleanup_slot` to unregister_temporary_file once the file is gone or renamed. Returns its
// descriptor and sets `created`, or returns -1 with errno set (nothing registered then).
int create_sibling_file(const std::filesystem::path& target, const char* tag,
                        std::filesystem::path& created, int& cleanup_slot);

}  // namespace aded
