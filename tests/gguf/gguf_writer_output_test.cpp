// GgufWriter::write goes through OutputFile: the bytes of to_bytes() land whole or not at all. A
// tensor that fails to fill, a full disk half-way through, or a full device leaves the old file
// as it was and no temporary file, with an error naming the file and the reason.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "aded/error.h"
#include "aded/gguf.h"
#include "core/file_size_limit.h"
#include "support/test_support.h"

namespace aded {
namespace {

namespace fs = std::filesystem;

// A small file of two tensors of `tensor_bytes` each; fill_fails makes the second one throw.
GgufWriter small_writer(size_t tensor_bytes, bool fill_fails = false) {
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.add_tensor("a", TensorType::F32, {static_cast<int64_t>(tensor_bytes / 4)},
               [](std::span<uint8_t> out) { std::fill(out.begin(), out.end(), uint8_t{1}); });
  w.add_tensor("b", TensorType::F32, {static_cast<int64_t>(tensor_bytes / 4)},
               [fill_fails](std::span<uint8_t> out) {
                 if (fill_fails) throw Error("tensor 'b': cannot compute it");
                 std::fill(out.begin(), out.end(), uint8_t{2});
               });
  return w;
}

std::string error_of(const GgufWriter& w, const fs::path& path) {
  try {
    w.write(path.string());
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

size_t files_in(const fs::path& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

TEST(GgufWriterOutput, WritesWhatToBytesGivesAndCountsIt) {
  testing::TempDir dir;
  const GgufWriter w = small_writer(4096);
  const std::vector<uint8_t> bytes = w.to_bytes();
  EXPECT_EQ(w.write((dir / "m.gguf").string()), bytes.size());
  EXPECT_EQ(testing::read_file(dir / "m.gguf"), std::string(bytes.begin(), bytes.end()));
  EXPECT_EQ(files_in(dir.path()), 1u);
}

TEST(GgufWriterOutput, AFillThatThrowsKeepsTheOldFile) {
  testing::TempDir dir;
  testing::write_file(dir / "m.gguf", "old model");
  EXPECT_EQ(error_of(small_writer(4096, true), dir / "m.gguf"), "tensor 'b': cannot compute it");
  EXPECT_EQ(testing::read_file(dir / "m.gguf"), "old model");
  EXPECT_EQ(files_in(dir.path()), 1u) << "no temporary file left";
}

TEST(GgufWriterOutput, AFullDiskHalfWayKeepsTheOldFile) {
  testing::TempDir dir;
  testing::write_file(dir / "m.gguf", "old model");
  std::string message;
  {
    testing::FileSizeLimit limit(64 * 1024);
    message = error_of(small_writer(1 << 20), dir / "m.gguf");
  }
  EXPECT_NE(message.find((dir / "m.gguf").string()), std::string::npos) << message;
  EXPECT_NE(message.find("File too large"), std::string::npos) << message;
  EXPECT_EQ(testing::read_file(dir / "m.gguf"), "old model");
  EXPECT_EQ(files_in(dir.path()), 1u) << "no temporary file left";
}

TEST(GgufWriterOutput, DevicesAreWrittenThrough) {
  const GgufWriter w = small_writer(4096);
  EXPECT_EQ(w.write("/dev/null"), w.to_bytes().size());
  EXPECT_TRUE(fs::is_character_file(fs::symlink_status("/dev/null")));
  const std::string message = error_of(w, "/dev/full");
  EXPECT_NE(message.find("'/dev/full'"), std::string::npos) << message;
  EXPECT_NE(message.find("No space left on device"), std::string::npos) << message;
}

TEST(GgufWriterOutput, AFolderOrAMissingFolderIsRefusedWithItsName) {
  testing::TempDir dir;
  const GgufWriter w = small_writer(4096);
  EXPECT_NE(error_of(w, dir.path()).find("is a folder"), std::string::npos);
  const std::string message = error_of(w, dir / "no" / "m.gguf");
  EXPECT_NE(message.find("does not exist"), std::string::npos) << message;
  EXPECT_EQ(files_in(dir.path()), 0u);
}

}  // namespace
}  // namespace aded
