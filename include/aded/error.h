// Errors carry their context (file, offset, key) in the message; the CLI prints it as one line.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace aded {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad or unsupported input data: a malformed file, an unknown architecture, a bad flag value.
class InputError : public Error {
 public:
  using Error::Error;
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw InputError(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace aded
