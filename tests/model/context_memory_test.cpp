// A context larger than the machine's memory is refused by name before anything is allocated
// (before: "out of memory" from deep inside, with no word of which setting caused it). The KV
// cache takes memory only where text is written, and the default context is the model's window.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vector>

#include <string>

#include "aded/context.h"
#include "aded/error.h"
#include "aded/half.h"
#include "aded/model_tools.h"
#include "model/kv_cache.h"
#include "support/test_support.h"

namespace aded {
namespace {

TEST(ContextMemory, AContextLargerThanTheMachineIsRefusedByItsSize) {
  testing::TempDir dir;
  RandomModelOptions o;
  o.shape = ModelConfig::new_model(Architecture::Llama, 256, 4, 4, 4, 512, 300, 1024, true);
  write_random_model(o, (dir / "wide.gguf").string());
  const auto model = Model::load((dir / "wide.gguf").string());
  const int n_ctx = 1 << 22;
  const double kv_bytes = 2.0 * 4 * n_ctx * 256 * sizeof(float);  // 34 GB as F32
  const double memory = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) *
                        static_cast<double>(::sysconf(_SC_PAGE_SIZE));
  if (memory >= kv_bytes)
    GTEST_SKIP() << "this machine could hold the cache (" << memory / 1e9 << " GB)";
  try {
    Context ctx(model, {.n_ctx = n_ctx, .n_threads = 1, .cache_type_k = TensorType::F32, .cache_type_v = TensorType::F32});
    FAIL() << "accepted";
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("4194304 tokens"), std::string::npos) << message;
    EXPECT_NE(message.find("34.4 GB"), std::string::npos) << message;
    EXPECT_NE(message.find("-c"), std::string::npos) << message;
  }
}

// Resident pages of [p, p + bytes) (mincore on the mapping).
size_t resident_pages(const void* p, size_t bytes) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGE_SIZE));
  const auto start = reinterpret_cast<uintptr_t>(p) / page * page;
  const size_t pages = (reinterpret_cast<uintptr_t>(p) + bytes - start + page - 1) / page;
  std::vector<unsigned char> in(pages);
  EXPECT_EQ(::mincore(reinterpret_cast<void*>(start), pages * page, in.data()), 0);
  size_t n = 0;
  for (unsigned char c : in) n += c & 1;
  return n;
}

TEST(ContextMemory, TheKvCacheTakesMemoryOnlyWhereWritten) {
  // 22 layers x 32768 cells x 4 heads of 64 floats: the 1.1B shape's cache at a 32k context, 1.5 GB.
  KvCache cache(22, 32768, 4, 64, TensorType::F32, TensorType::F32);
  EXPECT_EQ(cache.bytes(), size_t{2} * 22 * 32768 * 256 * 4);
  EXPECT_EQ(cache.head_stride(), size_t{32768} * 64);
  const size_t layer_bytes = size_t{32768} * 256 * sizeof(float);
  const auto* keys0 = static_cast<const float*>(cache.keys(0));
  EXPECT_EQ(resident_pages(keys0, layer_bytes), 0u);
  EXPECT_EQ(static_cast<const float*>(cache.keys(3))[1000 * 64 + 17], 0.0f) << "reads as zero";
  std::vector<float> row(256);
  for (size_t i = 0; i < 256; ++i) row[i] = static_cast<float>(i);
  for (size_t cell = 0; cell < 4; ++cell) cache.store(0, cell, 0, 256, row.data(), row.data());
  // 4 cells of each of the 4 heads' runs: a page of each, not a 2 MB huge page.
  EXPECT_EQ(resident_pages(keys0, layer_bytes), 4u) << "of " << layer_bytes / 4096 << " pages";
  EXPECT_EQ(keys0[3 * cache.head_stride() + 2 * 64 + 5], 3 * 64 + 5.0f) << "head 3 of cell 2";
  cache.copy_cell(2, 30000);
  EXPECT_EQ(keys0[3 * cache.head_stride() + 30000 * 64 + 63], 255.0f);
  EXPECT_EQ(static_cast<const float*>(cache.values(0))[30000 * 64 + 1], 1.0f);
}

TEST(ContextMemory, AnF16CacheTakesHalfAndStoresRoundedValues) {
  KvCache cache(2, 64, 4, 8, TensorType::F16, TensorType::F32);
  EXPECT_EQ(cache.bytes(), size_t{2} * 64 * 32 * (2 + 4));
  std::vector<float> k(8), v(8);
  for (size_t i = 0; i < 8; ++i) {
    k[i] = 1.0f + static_cast<float>(i) / 3.0f;  // not representable in F16: rounded
    v[i] = -k[i];
  }
  cache.store(1, 5, 16, 8, k.data(), v.data());  // head 2 (elements 16..23) of cell 5 in layer 1
  const auto* kh = static_cast<const uint16_t*>(cache.keys(1)) + 2 * cache.head_stride();
  const auto* vf = static_cast<const float*>(cache.values(1)) + 2 * cache.head_stride();
  for (size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(kh[5 * 8 + i], float_to_half(k[i])) << i;
    EXPECT_EQ(vf[5 * 8 + i], v[i]) << i;
  }
  EXPECT_EQ(kh[6 * 8], 0) << "the next cell untouched";
  EXPECT_EQ(kh[5 * 8 - cache.head_stride()], 0) << "head 1 untouched";
  cache.copy_cell(5, 63);
  EXPECT_EQ(kh[63 * 8 + 7], float_to_half(k[7]));
}

TEST(ContextMemory, AQ8CacheNeedsHeadsOfWholeBlocks) {
  EXPECT_THROW(KvCache(1, 16, 2, 48, TensorType::F16, TensorType::Q8_0), Error);
  KvCache cache(1, 16, 2, 64, TensorType::Q8_0, TensorType::Q8_0);
  EXPECT_EQ(cache.bytes(), size_t{2} * 16 * 2 * 2 * 34);
}

TEST(ContextMemory, TheDefaultContextIsTheModelsWindow) {
  testing::TempDir dir;
  RandomModelOptions o;
  o.shape = ModelConfig::new_model(Architecture::Llama, 64, 2, 4, 4, 128, 300, 16384, true);
  write_random_model(o, (dir / "long.gguf").string());
  const auto model = Model::load((dir / "long.gguf").string());
  Context ctx(model, {.n_threads = 1});
  EXPECT_EQ(ctx.n_ctx(), 16384) << "not capped at 4096: the cache costs only what is written";
}

}  // namespace
}  // namespace aded
