// Helpers shared by the tests: where the shared data lives, temporary files, running the CLI.
#pragma once

#include <filesystem>
#include <string>

namespace aded::testing {

// ../shared/data (or $ADED_SHARED_DATA); empty path when absent.
std::filesystem::path shared_data();
// Skips the current test (GTEST_SKIP) when shared data is missing; use as
//   ADED_REQUIRE_SHARED_DATA();
#define ADED_REQUIRE_SHARED_DATA()                                                     \
  do {                                                                                 \
    if (::aded::testing::shared_data().empty())                                        \
      GTEST_SKIP() << "needs ../shared/data (set ADED_SHARED_DATA); absent here";      \
  } while (0)

// The repository's tests/data folder.
std::filesystem::path test_data();

// A fresh temporary directory, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};
// Runs the built `aded` command with the given argument string (shell-quoted by the caller).
CommandResult run_cli(const std::string& args);

std::string read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, const std::string& bytes);

}  // namespace aded::testing
