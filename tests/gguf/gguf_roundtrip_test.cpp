#include <gtest/gtest.h>

#include "aded/error.h"
#include "aded/gguf.h"

namespace aded {
namespace {

TEST(Gguf, WriterOutputParsesBack) {
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_u32("llama.block_count", 3);
  w.set_f32("llama.rope.freq_base", 10000.0f);
  w.set_string_array("tokenizer.ggml.tokens", {"a", "b", "c"});
  std::vector<float> data(64);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(i);
  w.add_tensor_bytes("t", TensorType::F32, {16, 4},
                     {reinterpret_cast<const uint8_t*>(data.data()), data.size() * 4});
  auto bytes = w.to_bytes();
  auto f = GgufFile::parse(MappedFile::from_bytes(bytes, "mem.gguf"));
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(f.get_uint("llama.block_count"), 3u);
  EXPECT_FLOAT_EQ(static_cast<float>(f.get_float("llama.rope.freq_base")), 10000.0f);
  EXPECT_EQ(f.get_string_array("tokenizer.ggml.tokens").size(), 3u);
  const auto* t = f.find_tensor("t");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->nbytes, 256u);
  EXPECT_EQ(reinterpret_cast<const float*>(t->data)[63], 63.0f);
}

TEST(Gguf, TruncationAnywhereIsAnErrorNotACrash) {
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_string_array("tokenizer.ggml.tokens", {"a", "bb", "ccc"});
  std::vector<uint8_t> data(128, 7);
  w.add_tensor_bytes("t", TensorType::Q8_0, {32, 2}, {data.data(), 68});
  auto bytes = w.to_bytes();
  // Everything up to the end of the last tensor's bytes is needed; the padding after it is not.
  const auto whole = GgufFile::parse(MappedFile::from_bytes(bytes, "whole.gguf"));
  const size_t needed = whole.data_offset() + 68;
  for (size_t n = 0; n < needed; ++n) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<long>(n));
    EXPECT_THROW(GgufFile::parse(MappedFile::from_bytes(cut, "cut.gguf")), InputError) << n;
  }
}

}  // namespace
}  // namespace aded
