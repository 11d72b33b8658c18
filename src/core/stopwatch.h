// Wall-clock time of a piece of work (steady clock), for step timings and reported speeds.
#pragma once

#include <chrono>

namespace aded {

class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

 private:
  std::chrono::steady_clock::time_point start_;
};

}  // namespace aded
