// Runs a program with an argument list (no shell, so nothing in the arguments is interpreted),
// stdin and stdout on /dev/null, and its stderr kept for the error message.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace aded::report {

struct ProgramResult {
  int exit_code = 0;  // 128 + signal number when a signal ended it
  std::string err;    // what it wrote to stderr
};

// `program` is a path, or a name looked up in PATH. `stderr_file` is a scratch file for its
// stderr. Throws aded::Error when the program cannot be started (e.g. not installed).
ProgramResult run_program(const std::string& program, const std::vector<std::string>& args,
                          const std::filesystem::path& stderr_file);

}  // namespace aded::report
