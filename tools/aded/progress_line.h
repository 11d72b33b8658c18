// One line of progress on stderr: redrawn in place on a terminal; in a log (not a terminal), a
// plain line at most every few seconds and the final one, so logs stay readable.
#pragma once

#include <chrono>
#include <string>

namespace aded::cli {

class ProgressLine {
 public:
  explicit ProgressLine(double log_seconds = 10.0);
  // Shows `text`; `last` marks the final update (always shown, then the line is ended).
  void update(const std::string& text, bool last = false);
  // Ends the line (a terminal's line is cleared when clear is true).
  void finish(bool clear = false);
  static std::string bar(size_t done, size_t total, int width = 30);

 private:
  bool tty_;
  double log_seconds_;
  bool open_ = false;
  std::chrono::steady_clock::time_point last_print_{};
};

}  // namespace aded::cli
