// libFuzzer target: the llama2.c importer — checkpoint header, weights layout and tokenizer.bin —
// and loading what it writes. The importer reads files by path, so each input is written to two
// files in a private temporary directory. Input layout:
//   u32 checkpoint size (little-endian), the checkpoint bytes, then the tokenizer.bin bytes.
// (make_seeds writes seeds in this layout.) Untrusted bytes may only be rejected with
// aded::InputError; a converted file must load as a model or be rejected with InputError too.
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "aded/convert.h"
#include "aded/error.h"
#include "aded/model.h"

namespace {

class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "aded-llama2c-fuzz-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) {
      std::perror("mkdtemp");
      std::abort();
    }
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string file(const char* name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

const ScratchDir& scratch() {
  static const ScratchDir dir;
  return dir;
}

void write_bytes(const std::string& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) {
    std::fprintf(stderr, "llama2c_fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
}

template <typename Fn>
bool accepted(Fn&& fn) {
  try {
    fn();
    return true;
  } catch (const aded::InputError&) {
    return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  uint32_t checkpoint_size = 0;
  if (size >= 4) std::memcpy(&checkpoint_size, data, 4);
  const size_t body = size >= 4 ? size - 4 : 0;
  const size_t split = std::min<size_t>(checkpoint_size, body);
  const std::string checkpoint = scratch().file("model.bin");
  const std::string tokenizer = scratch().file("tokenizer.bin");
  const std::string output = scratch().file("model.gguf");
  write_bytes(checkpoint, data + (size - body), split);
  write_bytes(tokenizer, data + (size - body) + split, body - split);

  if (!accepted([&] { (void)aded::read_llama2c_header(checkpoint); })) return 0;
  if (!accepted([&] { aded::convert_llama2c(checkpoint, tokenizer, output); })) return 0;
  accepted([&] { (void)aded::Model::load(output); });
  return 0;
}
