#include "core/printable_text.h"

#include <fmt/format.h>

namespace aded {

namespace {

// The code point of the valid UTF-8 sequence at the start of s and its length, or length 0.
struct Utf8 {
  uint32_t code_point = 0;
  size_t length = 0;
};

Utf8 decode_utf8(std::string_view s) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = byte(0);
  size_t n = 0;
  uint32_t cp = 0, min = 0;
  if (c < 0x80) return {c, 1};
  if ((c >> 5) == 0x6) n = 2, cp = c & 0x1F, min = 0x80;
  else if ((c >> 4) == 0xE) n = 3, cp = c & 0x0F, min = 0x800;
  else if ((c >> 3) == 0x1E) n = 4, cp = c & 0x07, min = 0x10000;
  else return {};
  if (s.size() < n) return {};
  for (size_t i = 1; i < n; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return {};
    cp = (cp << 6) | (byte(i) & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are not valid UTF-8.
  if (cp < min || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return {};
  return {cp, n};
}

bool must_escape(uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) ||        // C0, DEL, C1 controls
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) ||  // bidi overrides
         cp == 0x200E || cp == 0x200F || cp == 0x061C;      // direction marks
}

}  // namespace

std::string printable_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const Utf8 u = decode_utf8(text);
    if (u.length == 0) {
      out += fmt::format("\\x{:02X}", static_cast<unsigned char>(text[0]));
      text.remove_prefix(1);
      continue;
    }
    const uint32_t cp = u.code_point;
    if (cp == '\\') out += "\\\\";
    else if (cp == '\n') out += "\\n";
    else if (cp == '\t') out += "\\t";
    else if (cp == '\r') out += "\\r";
    else if (cp < 0x80 && must_escape(cp)) out += fmt::format("\\x{:02X}", cp);
    else if (must_escape(cp)) out += fmt::format("\\u{:04X}", cp);
    else out.append(text.substr(0, u.length));
    text.remove_prefix(u.length);
  }
  return out;
}

std::string_view utf8_prefix(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t end = max_bytes;
  // Step back over continuation bytes to the start of the sequence that crosses the cut.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80 && max_bytes - end < 3) --end;
  return text.substr(0, end);
}

}  // namespace aded
