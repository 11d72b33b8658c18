// Checks shared by the CLI tests: how a path is quoted for the shell, and what a clean failure
// looks like (exit code 1 or 2, exactly one stderr line "aded: error: ..." naming the problem).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <initializer_list>
#include <string>

#include "support/test_support.h"

namespace aded::testing {

inline std::string quoted(const std::filesystem::path& p) {
  std::string s = p.string();
  s.insert(s.begin(), '\'');
  s += '\'';
  return s;
}

inline ::testing::AssertionResult fails_cleanly(const CommandResult& r,
                                                std::initializer_list<std::string> mentions) {
  if (r.exit_code != 1 && r.exit_code != 2)
    return ::testing::AssertionFailure() << "exit code " << r.exit_code << ", stderr: " << r.err;
  const std::string prefix = "aded: error: ";
  if (r.err.rfind(prefix, 0) != 0) return ::testing::AssertionFailure() << "stderr: " << r.err;
  if (r.err.find('\n') != r.err.size() - 1)
    return ::testing::AssertionFailure() << "stderr is not exactly one line: " << r.err;
  for (const auto& m : mentions)
    if (r.err.find(m) == std::string::npos)
      return ::testing::AssertionFailure() << "stderr does not mention '" << m << "': " << r.err;
  return ::testing::AssertionSuccess();
}

}  // namespace aded::testing
