// Text from a file, made safe to print on a terminal: control characters (C0, DEL, C1), the
// bidirectional overrides that reorder what is shown, invalid UTF-8 and backslashes are written
// as escapes (\n, \x1B, \u202E, \\), so a file cannot move the cursor, change colours, set the
// window title or hide text. Valid UTF-8 text otherwise stays as it is.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace aded {

std::string printable_text(std::string_view text);

// The longest prefix of text of at most max_bytes that does not cut a UTF-8 sequence in two.
std::string_view utf8_prefix(std::string_view text, size_t max_bytes);

}  // namespace aded
