// Read-only bytes of a file: memory-mapped from disk, or owned (files built in memory, fuzzing).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace aded {

class MappedFile {
 public:
  // Maps the whole file read-only; throws InputError naming the path when it cannot (also for
  // anything but a regular file, before it could block). Should the file shrink while mapped, a
  // read past its new end ends the process with a message naming it (core/mapping_guard.h).
  static std::shared_ptr<const MappedFile> open(const std::string& path);
  static std::shared_ptr<const MappedFile> from_bytes(std::vector<uint8_t> bytes, std::string name);

  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  // Tells the OS this process does not need the pages of [p, p + n) in memory now (they are read
  // again from the file if touched). No effect on owned bytes or ranges outside the file.
  void release(const uint8_t* p, size_t n) const;
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
  int guard_ = -1;
  std::vector<uint8_t> owned_;
};

}  // namespace aded
