// A file mapped into memory can shrink under the process (another program truncates or rewrites
// it); touching a page past its new end raises SIGBUS, which would kill the process with no word
// of why. The guard keeps the address ranges of the files this process maps, and a SIGBUS inside
// one of them ends the process with a message naming the file and exit code 1. A SIGBUS anywhere
// else goes to whatever handler was there before (or the default action).
#pragma once

#include <cstddef>
#include <string>

namespace aded {

// Registers [data, data + size) as a mapping of `path`; returns a slot for unguard_mapping, or -1
// when all slots are taken (the mapping then works unguarded).
int guard_mapping(const void* data, size_t size, const std::string& path);
void unguard_mapping(int slot);

}  // namespace aded
