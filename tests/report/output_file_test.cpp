// publish_file: a finished file appears whole or not at all; links are followed, devices written
// through, and folders or dangling links refused with their name.
#include "report/output_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "aded/error.h"
#include "support/test_support.h"

namespace aded::report {
namespace {

namespace fs = std::filesystem;

std::string error_of(const std::string& bytes, const fs::path& destination) {
  try {
    publish_file(bytes, destination);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

size_t files_in(const fs::path& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

TEST(PublishFile, CreatesAndReplacesRegularFiles) {
  testing::TempDir dir;
  publish_file("first", dir / "out.txt");
  EXPECT_EQ(testing::read_file(dir / "out.txt"), "first");
  publish_file("second, longer", dir / "out.txt");
  EXPECT_EQ(testing::read_file(dir / "out.txt"), "second, longer");
  EXPECT_EQ(files_in(dir.path()), 1u) << "no temporary file left";
}

TEST(PublishFile, NewFileGetsTheUsualPermissions) {
  testing::TempDir dir;
  const mode_t old_mask = ::umask(022);
  publish_file("x", dir / "out.txt");
  ::umask(old_mask);
  EXPECT_EQ(fs::status(dir / "out.txt").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                fs::perms::others_read);
}

TEST(PublishFile, FollowsSymbolicLinks) {
  testing::TempDir dir;
  testing::write_file(dir / "target.txt", "old");
  fs::create_symlink(dir / "target.txt", dir / "link.txt");
  publish_file("new", dir / "link.txt");
  EXPECT_TRUE(fs::is_symlink(fs::symlink_status(dir / "link.txt")));
  EXPECT_EQ(testing::read_file(dir / "target.txt"), "new");
}

TEST(PublishFile, WritesThroughDevices) {
  publish_file("discarded", "/dev/null");
  EXPECT_TRUE(fs::is_character_file("/dev/null"));
}

TEST(PublishFile, RefusesWhatItCannotReplace) {
  testing::TempDir dir;
  fs::create_directory(dir / "folder");
  EXPECT_NE(error_of("x", dir / "folder").find("is a directory"), std::string::npos);
  fs::create_symlink(dir / "missing.txt", dir / "dangling.txt");
  EXPECT_NE(error_of("x", dir / "dangling.txt").find("symbolic link to a missing file"),
            std::string::npos);
  const std::string message = error_of("x", dir / "no-folder" / "out.txt");
  EXPECT_NE(message.find("no-folder"), std::string::npos) << message;
  EXPECT_EQ(files_in(dir.path()), 2u);
}

}  // namespace
}  // namespace aded::report
