// Contexts that share one thread pool (ContextOptions::pool): driven from two threads at once, each
// computes bitwise what it computes alone, and a context made on a shared pool starts no threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include "aded/context.h"
#include "aded/error.h"
#include "aded/model_tools.h"
#include "support/test_support.h"

namespace aded {
namespace {

int process_threads() {
  int n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

// Big enough that one token's layers (2^18 multiply-adds) run as a team region, and a forward of
// several tokens has products that use the pool; two kv heads, so three threads take the path for
// fewer kv heads than threads.
std::shared_ptr<const Model> model_of_seed(uint64_t seed) {
  static testing::TempDir dir;
  RandomModelOptions o;
  o.shape = ModelConfig::new_model(Architecture::Llama, 128, 2, 4, 2, 640, 400, 512, true);
  o.type = TensorType::F32;
  o.seed = seed;
  const auto path = (dir / ("pool-" + std::to_string(seed) + ".gguf")).string();
  if (!std::filesystem::exists(path)) write_random_model(o, path);
  return Model::load(path);
}

struct Decoded {
  std::vector<int32_t> tokens;            // greedy continuation
  std::vector<std::vector<float>> logits;  // every row of every forward
};

// A prompt as one batch, then greedy decoding one token at a time (every other step through the
// greedy head), with a 4-token lookahead batch every 8 steps, as a verifier would send.
Decoded greedy(Context& ctx, int prompt_seed, int steps) {
  Decoded r;
  const int vocab = ctx.model().config().n_vocab;
  std::vector<int32_t> prompt{1};
  for (int i = 1; i < 24; ++i) prompt.push_back((prompt_seed * 131 + i * 17) % vocab);
  ctx.truncate(0);
  ctx.forward(Batch::sequence(prompt, 0, false));
  std::vector<int32_t> all(prompt.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int32_t>(i);
  ctx.commit(all);
  auto last = ctx.logits(static_cast<int>(prompt.size()) - 1);
  r.logits.emplace_back(last.begin(), last.end());
  const auto argmax = [](std::span<const float> l) {
    return static_cast<int32_t>(std::max_element(l.begin(), l.end()) - l.begin());
  };
  int32_t next = argmax(last);
  for (int s = 0; s < steps; ++s) {
    r.tokens.push_back(next);
    std::vector<int32_t> batch{next};
    if (s % 8 == 7)
      for (int j = 1; j < 4; ++j) batch.push_back((next + j * 7) % vocab);
    Batch b = Batch::sequence(batch, ctx.n_past(), true);
    b.greedy_only = s % 2 == 0;
    ctx.forward(b);
    for (int i = 0; i < static_cast<int>(batch.size()); ++i) {
      auto l = ctx.logits(i);
      r.logits.emplace_back(l.begin(), l.end());
    }
    const int32_t first[] = {0};
    ctx.commit(first);
    next = b.greedy_only ? ctx.greedy_argmax(0) : argmax(ctx.logits(0));
  }
  return r;
}

bool same_bits(const Decoded& a, const Decoded& b) {
  if (a.tokens != b.tokens || a.logits.size() != b.logits.size()) return false;
  for (size_t i = 0; i < a.logits.size(); ++i)
    if (a.logits[i].size() != b.logits[i].size() ||
        std::memcmp(a.logits[i].data(), b.logits[i].data(), a.logits[i].size() * sizeof(float)) != 0)
      return false;
  return true;
}

class SharedPool : public ::testing::TestWithParam<int> {};

TEST_P(SharedPool, ConcurrentContextsGiveTheirResultsAlone) {
  const int threads = GetParam();
  const auto draft = model_of_seed(7), target = model_of_seed(42);
  constexpr int kSteps = 40;
  Decoded alone_a, alone_b;
  {
    Context a(draft, {.n_ctx = 256, .n_threads = threads});
    Context b(target, {.n_ctx = 256, .n_threads = threads});
    alone_a = greedy(a, 1, kSteps);
    alone_b = greedy(b, 2, kSteps);
  }

  const int before_pool = process_threads();
  auto pool = std::make_shared<ThreadPool>(threads);
  EXPECT_EQ(process_threads(), before_pool + threads - 1);
  Context a(draft, {.n_ctx = 256, .pool = pool});
  const int before_second = process_threads();
  Context b(target, {.n_ctx = 256, .n_threads = threads, .pool = pool});  // n_threads may repeat the size
  EXPECT_EQ(process_threads(), before_second) << "the second context started threads";
  EXPECT_EQ(&a.pool(), pool.get());
  EXPECT_EQ(b.shared_pool(), pool);

  for (int round = 0; round < 3; ++round) {
    Decoded shared_a, shared_b;
    std::thread ta([&] { shared_a = greedy(a, 1, kSteps); });
    std::thread tb([&] { shared_b = greedy(b, 2, kSteps); });
    ta.join();
    tb.join();
    EXPECT_TRUE(same_bits(shared_a, alone_a)) << "round " << round;
    EXPECT_TRUE(same_bits(shared_b, alone_b)) << "round " << round;
  }
  EXPECT_EQ(process_threads(), before_second);
}

INSTANTIATE_TEST_SUITE_P(Threads, SharedPool, ::testing::Values(1, 2, 3));

TEST(SharedPoolErrors, ThreadCountMustMatchThePool) {
  const auto model = model_of_seed(42);
  auto pool = std::make_shared<ThreadPool>(2);
  EXPECT_THROW(Context(model, {.n_ctx = 64, .n_threads = 3, .pool = pool}), Error);
  Context ctx(model, {.n_ctx = 64, .pool = pool});
  EXPECT_EQ(ctx.pool().size(), 2);
}

}  // namespace
}  // namespace aded
