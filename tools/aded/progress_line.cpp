#include "progress_line.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace aded::cli {

ProgressLine::ProgressLine(double log_seconds) : tty_(isatty(STDERR_FILENO) != 0), log_seconds_(log_seconds) {}

void ProgressLine::update(const std::string& text, bool last) {
  const auto now = std::chrono::steady_clock::now();
  if (tty_) {
    fmt::print(stderr, "\r\033[K{}", text);
    open_ = true;
    if (last) finish();
    return;
  }
  if (!last && last_print_.time_since_epoch().count() != 0 &&
      std::chrono::duration<double>(now - last_print_).count() < log_seconds_)
    return;
  fmt::print(stderr, "{}\n", text);
  last_print_ = now;
}

void ProgressLine::finish(bool clear) {
  if (!open_) return;
  std::fputs(clear ? "\r\033[K" : "\n", stderr);
  open_ = false;
}

std::string ProgressLine::bar(size_t done, size_t total, int width) {
  const int filled = total ? static_cast<int>(static_cast<double>(width) * static_cast<double>(done) / static_cast<double>(total)) : width;
  std::string s(static_cast<size_t>(width) + 2, ' ');
  s.front() = '[';
  s.back() = ']';
  for (int i = 0; i < filled && i < width; ++i) s[static_cast<size_t>(i) + 1] = '#';
  return s;
}

}  // namespace aded::cli
