// OutputFile and check_output_file: a file appears whole or not at all, links are followed,
// devices written through, every failure names the file and the reason and leaves no temporary
// file, and an output that is one of the inputs is refused whatever its spelling.
#include "core/output_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include "aded/error.h"
#include "core/file_size_limit.h"
#include "core/output_target.h"
#include "support/test_support.h"

namespace aded {
namespace {

namespace fs = std::filesystem;

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::string write_error(const fs::path& destination, const std::string& bytes = "x") {
  return error_of([&] { write_output_file(destination, bytes); });
}

std::string check_error(const fs::path& destination, std::initializer_list<fs::path> inputs = {}) {
  return error_of([&] { check_output_file(destination, inputs); });
}

size_t files_in(const fs::path& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

bool mentions(const std::string& message, std::initializer_list<std::string> parts) {
  for (const auto& p : parts)
    if (message.find(p) == std::string::npos) return false;
  return true;
}

TEST(OutputFile, CreatesAndReplacesRegularFiles) {
  testing::TempDir dir;
  write_output_file(dir / "out.txt", std::string("first"));
  EXPECT_EQ(testing::read_file(dir / "out.txt"), "first");
  write_output_file(dir / "out.txt", std::string("second, longer"));
  EXPECT_EQ(testing::read_file(dir / "out.txt"), "second, longer");
  EXPECT_EQ(files_in(dir.path()), 1u) << "no temporary file left";
}

TEST(OutputFile, WritesInPiecesAndCountsThem) {
  testing::TempDir dir;
  OutputFile out(dir / "out.bin");
  out.write("abc", 3);
  out.write("defg", 4);
  EXPECT_FALSE(fs::exists(dir / "out.bin")) << "nothing appears before commit";
  out.commit();
  EXPECT_EQ(out.bytes_written(), 7u);
  EXPECT_EQ(testing::read_file(dir / "out.bin"), "abcdefg");
  EXPECT_THROW(out.write("h", 1), Error);
}

TEST(OutputFile, NewFileGetsTheUsualPermissions) {
  testing::TempDir dir;
  const mode_t old_mask = ::umask(022);
  write_output_file(dir / "out.txt", std::string("x"));
  ::umask(old_mask);
  EXPECT_EQ(fs::status(dir / "out.txt").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                fs::perms::others_read);
}

TEST(OutputFile, ReplacedFileKeepsItsPermissions) {
  testing::TempDir dir;
  testing::write_file(dir / "private.txt", "old");
  fs::permissions(dir / "private.txt", fs::perms::owner_read | fs::perms::owner_write);
  write_output_file(dir / "private.txt", std::string("new"));
  EXPECT_EQ(fs::status(dir / "private.txt").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST(OutputFile, FollowsSymbolicLinksAndKeepsThem) {
  testing::TempDir dir;
  fs::create_directory(dir / "elsewhere");
  testing::write_file(dir / "elsewhere" / "target.txt", "old");
  fs::create_symlink("elsewhere/target.txt", dir / "link.txt");
  write_output_file(dir / "link.txt", std::string("new"));
  EXPECT_TRUE(fs::is_symlink(fs::symlink_status(dir / "link.txt")));
  EXPECT_EQ(testing::read_file(dir / "elsewhere" / "target.txt"), "new");
  EXPECT_EQ(files_in(dir / "elsewhere"), 1u) << "the temporary file was made beside the target";
}

TEST(OutputFile, WritesThroughDevicesWithoutReplacingThem) {
  write_output_file("/dev/null", std::string("discarded"));
  EXPECT_TRUE(fs::is_character_file(fs::symlink_status("/dev/null")));
  testing::TempDir dir;
  fs::create_symlink("/dev/null", dir / "null-link");
  write_output_file(dir / "null-link", std::string("discarded"));
  EXPECT_TRUE(fs::is_symlink(fs::symlink_status(dir / "null-link")));
  EXPECT_TRUE(fs::is_character_file(fs::symlink_status("/dev/null")));
}

TEST(OutputFile, AFullDeviceIsReportedWithItsReason) {
  const std::string message = write_error("/dev/full", std::string(10000, 'x'));
  EXPECT_TRUE(mentions(message, {"/dev/full", "No space left on device"})) << message;
}

TEST(OutputFile, WritesThroughPipes) {
  testing::TempDir dir;
  const fs::path fifo = dir / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // A reader must be there first, as with a shell redirection into a pipe.
  const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(reader, 0);
  write_output_file(fifo, std::string("through"));
  char buffer[16] = {};
  EXPECT_EQ(::read(reader, buffer, sizeof(buffer)), 7);
  ::close(reader);
  EXPECT_TRUE(fs::is_fifo(fs::symlink_status(fifo)));
  // Nobody reading: refused at once instead of waiting forever.
  const std::string message = write_error(fifo);
  EXPECT_TRUE(mentions(message, {"pipe", "no reader"})) << message;
}

TEST(OutputFile, RefusesWhatItCannotReplace) {
  testing::TempDir dir;
  fs::create_directory(dir / "folder");
  EXPECT_TRUE(mentions(write_error(dir / "folder"), {"folder", "is a folder"}));
  fs::create_symlink(dir / "missing.txt", dir / "dangling.txt");
  EXPECT_TRUE(mentions(write_error(dir / "dangling.txt"),
                       {"dangling.txt", "symbolic link to a missing file"}));
  EXPECT_TRUE(mentions(write_error(dir / "no-folder" / "out.txt"),
                       {"out.txt", "no-folder", "does not exist"}));
  testing::write_file(dir / "file.txt", "a file");
  EXPECT_TRUE(mentions(write_error(dir / "file.txt" / "out.txt"), {"out.txt", "Not a directory"}));
  EXPECT_TRUE(mentions(write_error(""), {"no output file name"}));
  EXPECT_EQ(files_in(dir.path()), 3u) << "nothing created";
}

TEST(OutputFile, RefusesSockets) {
  testing::TempDir dir;
  const fs::path path = dir / "socket";
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  ASSERT_LT(path.string().size(), sizeof(address.sun_path));
  std::strcpy(address.sun_path, path.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)), 0);
  EXPECT_TRUE(mentions(write_error(path), {"socket", "is a socket"}));
  ::close(fd);
}

// Root may write anywhere permissions are concerned, so the place with no room for a new file is
// /sys (no new files there, for anyone).
TEST(OutputFile, AReadOnlyPlaceIsReportedWithItsReason) {
  if (!fs::is_directory("/sys")) GTEST_SKIP() << "no /sys here";
  const std::string message = write_error("/sys/aded-output-test.bin");
  EXPECT_TRUE(mentions(message, {"/sys/aded-output-test.bin", "cannot create a file in '/sys'"}))
      << message;
  EXPECT_TRUE(
      mentions(check_error("/sys/aded-output-test.bin"), {"cannot create a file in '/sys'"}));
}

TEST(OutputFile, AReadOnlyFileIsKept) {
  if (::geteuid() == 0) GTEST_SKIP() << "root may write a read-only file";
  testing::TempDir dir;
  testing::write_file(dir / "kept.txt", "old");
  fs::permissions(dir / "kept.txt", fs::perms::owner_read);
  EXPECT_TRUE(mentions(write_error(dir / "kept.txt"), {"kept.txt", "Permission denied"}));
  EXPECT_EQ(testing::read_file(dir / "kept.txt"), "old");
}

TEST(OutputFile, AFailedWriteLeavesTheOldFileAndNoTemporary) {
  testing::TempDir dir;
  testing::write_file(dir / "out.bin", "old contents");
  std::string message;
  {
    testing::FileSizeLimit limit(4096);
    message = write_error(dir / "out.bin", std::string(100000, 'x'));
  }
  EXPECT_TRUE(mentions(message, {"out.bin", "File too large"})) << message;
  EXPECT_EQ(testing::read_file(dir / "out.bin"), "old contents");
  EXPECT_EQ(files_in(dir.path()), 1u) << "no temporary file left";
}

TEST(OutputFile, AnUnfinishedFileLeavesNothing) {
  testing::TempDir dir;
  testing::write_file(dir / "out.bin", "old contents");
  {
    OutputFile out(dir / "out.bin");
    out.write("new", 3);
    EXPECT_EQ(files_in(dir.path()), 2u) << "the temporary file is beside the target";
  }  // destroyed without commit, as when producing the contents throws
  EXPECT_EQ(testing::read_file(dir / "out.bin"), "old contents");
  EXPECT_EQ(files_in(dir.path()), 1u);
}

TEST(CheckOutputFile, RefusesAnInputWhateverItsSpelling) {
  testing::TempDir dir;
  testing::write_file(dir / "m.gguf", "model");
  fs::create_symlink(dir / "m.gguf", dir / "link.gguf");
  fs::create_hard_link(dir / "m.gguf", dir / "hard.gguf");
  const fs::path input = dir / "m.gguf";
  const fs::path other_spelling = dir.path() / "." / "m.gguf";
  for (const fs::path& output : {input, other_spelling, dir / "link.gguf", dir / "hard.gguf"}) {
    const std::string message = check_error(output, {dir / "other.txt", input});
    EXPECT_TRUE(mentions(message, {"is the input file", "m.gguf", "different file"}))
        << output << ": " << message;
  }
  EXPECT_EQ(check_error(dir / "q.gguf", {input}), "(no error)");
  EXPECT_EQ(files_in(dir.path()), 3u) << "the check leaves nothing behind";
  EXPECT_EQ(testing::read_file(input), "model");
}

TEST(CheckOutputFile, RefusesEarlyWhatTheWriteWouldRefuseLate) {
  testing::TempDir dir;
  fs::create_directory(dir / "folder");
  EXPECT_TRUE(mentions(check_error(dir / "folder"), {"is a folder"}));
  EXPECT_TRUE(mentions(check_error(dir / "no" / "out.bin"), {"does not exist"}));
  EXPECT_EQ(check_error("/dev/null"), "(no error)");
  EXPECT_EQ(files_in(dir.path()), 1u);
}

TEST(SameFile, ComparesFilesNotStrings) {
  testing::TempDir dir;
  testing::write_file(dir / "a", "x");
  testing::write_file(dir / "b", "x");
  EXPECT_TRUE(same_file(dir / "a", dir.path() / "." / "a"));
  EXPECT_FALSE(same_file(dir / "a", dir / "b"));
  EXPECT_TRUE(same_file(dir / "new", dir.path() / "." / "new")) << "files yet to be written";
  EXPECT_FALSE(same_file(dir / "new", dir / "a"));
}

}  // namespace
}  // namespace aded
