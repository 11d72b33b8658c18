// Context::tokens_forwarded() and forwards() count the work a context did: every token of every
// batch that ran (committed or not), none of a batch that was refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <numeric>
#include <vector>

#include "aded/context.h"
#include "aded/error.h"
#include "aded/model_tools.h"
#include "support/test_support.h"

namespace aded {
namespace {

TEST(ContextCounters, CountForwardedTokensAndForwards) {
  testing::TempDir dir;
  RandomModelOptions o;
  o.shape = ModelConfig::new_model(Architecture::Llama, 64, 2, 4, 2, 160, 300, 256, true);
  o.type = TensorType::F32;
  write_random_model(o, (dir / "m.gguf").string());
  Context ctx(Model::load((dir / "m.gguf").string()), {.n_ctx = 16, .n_threads = 2});
  EXPECT_EQ(ctx.tokens_forwarded(), 0u);
  EXPECT_EQ(ctx.forwards(), 0u);

  const std::vector<int32_t> prompt = {1, 20, 30, 40, 50};
  ctx.forward(Batch::sequence(prompt, 0, false));
  std::vector<int32_t> all(prompt.size());
  std::iota(all.begin(), all.end(), 0);
  ctx.commit(all);
  EXPECT_EQ(ctx.tokens_forwarded(), 5u);
  EXPECT_EQ(ctx.forwards(), 1u);

  // A tree of three drafted tokens, one of them kept: all three were forwarded.
  const int32_t parents[] = {-1, 0, 0};
  Batch tree;
  tree.tokens = {7, 8, 9};
  tree.positions = {5, 6, 6};
  tree.mask = AttentionMask::tree(ctx.n_past(), parents);
  ctx.forward(tree);
  const int32_t keep[] = {0};
  ctx.commit(keep);
  EXPECT_EQ(ctx.tokens_forwarded(), 8u);
  EXPECT_EQ(ctx.forwards(), 2u);

  // Refused batches (a full context, an unknown token) count nothing.
  const std::vector<int32_t> too_long(12, 3);
  EXPECT_THROW(ctx.forward(Batch::sequence(too_long, ctx.n_past(), false)), InputError);
  const int32_t bad[] = {100000};
  EXPECT_THROW(ctx.forward(Batch::sequence(bad, ctx.n_past(), false)), InputError);
  EXPECT_EQ(ctx.tokens_forwarded(), 8u);
  EXPECT_EQ(ctx.forwards(), 2u);

  // Dropping cells and forwarding again counts the recomputed tokens again.
  ctx.truncate(3);
  const int32_t again[] = {40, 50};
  ctx.forward(Batch::sequence(again, ctx.n_past(), false));
  EXPECT_EQ(ctx.tokens_forwarded(), 10u);
  EXPECT_EQ(ctx.forwards(), 3u);
}

}  // namespace
}  // namespace aded
