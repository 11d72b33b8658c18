// A context larger than the machine's memory is refused by name before anything is allocated
// (before: "out of memory" from deep inside, with no word of which setting caused it).
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "aded/context.h"
#include "aded/error.h"
#include "aded/model_tools.h"
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
  const double kv_bytes = 2.0 * 4 * n_ctx * 256 * sizeof(float);  // 34 GB
  const double memory = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) *
                        static_cast<double>(::sysconf(_SC_PAGE_SIZE));
  if (memory >= kv_bytes)
    GTEST_SKIP() << "this machine could hold the cache (" << memory / 1e9 << " GB)";
  try {
    Context ctx(model, {.n_ctx = n_ctx, .n_threads = 1});
    FAIL() << "accepted";
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("4194304 tokens"), std::string::npos) << message;
    EXPECT_NE(message.find("34.4 GB"), std::string::npos) << message;
    EXPECT_NE(message.find("-c"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace aded
