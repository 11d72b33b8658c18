// Puts a finished file where the user asked for it without ever leaving half of it there.
#pragma once

#include <filesystem>
#include <string>

namespace aded::report {

// Copies `bytes` to `destination`: into a temporary file in the same folder, then renamed over
// it, so readers see the old file or the whole new one and a failure leaves no trace. A symbolic
// link is followed (the file it points to is replaced, the link stays); a device, pipe or socket
// (e.g. /dev/null) is written through, since renaming over it would replace the device itself.
// Throws aded::Error naming the path on failure.
void publish_file(const std::string& bytes, const std::filesystem::path& destination);

}  // namespace aded::report
