// MappedFile: only regular files are mapped, and refusing the rest never blocks (a named pipe
// would wait for a writer); a file that shrinks while mapped ends the process with a message
// naming it instead of a bare SIGBUS.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <thread>

#include "aded/error.h"
#include "aded/mapped_file.h"
#include "support/test_support.h"

namespace aded {
namespace {

std::string refusal(const std::string& path) {
  try {
    MappedFile::open(path);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(mapped)";
}

TEST(MappedFile, RefusesWhatIsNotARegularFileWithoutBlocking) {
  testing::TempDir dir;
  const std::string fifo = (dir / "pipe").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // Opened in another thread: if the open waited for a writer, the test fails instead of hanging.
  std::promise<std::string> result;
  auto answer = result.get_future();
  std::thread([&result, fifo] { result.set_value(refusal(fifo)); }).detach();
  ASSERT_EQ(answer.wait_for(std::chrono::seconds(10)), std::future_status::ready) << "opening a named pipe blocked";
  EXPECT_NE(answer.get().find("pipe: not a regular file (a named pipe)"), std::string::npos);
  EXPECT_NE(refusal(dir.path().string()).find("not a regular file (a folder)"), std::string::npos);
  EXPECT_NE(refusal("/dev/null").find("not a regular file (a device)"), std::string::npos);
  EXPECT_NE(refusal((dir / "missing").string()).find("cannot open: No such file or directory"), std::string::npos);
  testing::write_file(dir / "ok.bin", "abc");
  EXPECT_EQ(MappedFile::open((dir / "ok.bin").string())->bytes().size(), 3u);
}

// Another program truncates the file while it is mapped: touching what is gone stops the process
// with exit code 1 and a message that names the file.
TEST(MappedFileDeathTest, AFileTruncatedWhileMappedIsNamed) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  testing::TempDir dir;
  const std::string path = (dir / "model.gguf").string();
  testing::write_file(path, std::string(1 << 16, 'x'));
  EXPECT_EXIT(
      {
        const auto file = MappedFile::open(path);
        ASSERT_EQ(::truncate(path.c_str(), 100), 0);
        volatile uint8_t sink = file->bytes()[60000];
        (void)sink;
      },
      ::testing::ExitedWithCode(1), "model.gguf: the file changed while in use");
  // A SIGBUS outside any mapped file keeps its usual meaning.
  EXPECT_EXIT(::raise(SIGBUS), ::testing::KilledBySignal(SIGBUS), "");
}

}  // namespace
}  // namespace aded
