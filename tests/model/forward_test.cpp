// The forward pass is batch-invariant (../shared/docs/VERIFY.md): the logits of a token are bitwise the same
// whether it is evaluated alone, in a batch, or as a node of a draft tree, for every tensor type,
// every kernel table and any thread count.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "aded/context.h"
#include "aded/error.h"
#include "aded/model_tools.h"
#include "model/model_dims.h"
#include "model/team_partition.h"
#include "support/test_support.h"

namespace aded {
namespace {

struct ForwardCase {
  const char* name;
  ModelConfig shape;
  TensorType type;
};

ModelConfig llama_gqa() { return ModelConfig::new_model(Architecture::Llama, 64, 2, 4, 2, 160, 300, 256, true); }
ModelConfig llama_untied() { return ModelConfig::new_model(Architecture::Llama, 128, 2, 4, 4, 256, 320, 256, false); }
ModelConfig qwen2_like() {
  ModelConfig c = ModelConfig::new_model(Architecture::Qwen2, 64, 2, 4, 1, 96, 300, 256, true);
  c.rope_base = 1000000.0f;
  return c;
}
// Fused q|k|v and gate|up rows, LongRoPE (its long factors: contexts here exceed 64), GQA, a
// sliding window shorter than the tests' sequences.
ModelConfig phi3_like(int sliding_window = 12) {
  ModelConfig c = ModelConfig::new_model(Architecture::Phi3, 256, 2, 8, 4, 512, 300, 1024, false);
  c.rope_orig_ctx = 64;
  c.rope_attn_factor = 1.19f;
  c.sliding_window = sliding_window;
  return c;
}
// Heads of 64 over a stream of 128 with 4 query heads (q is twice the stream), q/k head norms.
ModelConfig qwen3_like() {
  ModelConfig c = ModelConfig::new_model(Architecture::Qwen3, 128, 2, 4, 2, 256, 300, 1024, true);
  c.head_dim = c.rope_dim = 64;
  c.rope_base = 1000000.0f;
  return c;
}
// Embedding scale, post-norms, GELU gating, soft-capped scores and logits, heads of their own size
// (the caps low enough to bind on random weights), a window on the even layers shorter than the
// tests' sequences.
ModelConfig gemma2_like() {
  ModelConfig c = ModelConfig::new_model(Architecture::Gemma2, 128, 2, 4, 2, 256, 300, 1024, true);
  c.head_dim = c.rope_dim = 64;
  c.sliding_window = 12;
  c.attn_softcap = 2.0f;
  c.final_softcap = 1.5f;
  return c;
}
// Llama with scaled embeddings, scores, block outputs and logits.
ModelConfig granite_like() {
  ModelConfig c = ModelConfig::new_model(Architecture::Granite, 64, 2, 4, 2, 160, 300, 1024, true);
  c.attn_scale = 0.1f, c.embedding_scale = 12.0f, c.residual_scale = 0.22f, c.logit_scale = 8.0f;
  return c;
}
// No pre-norms, q/k normalized across all heads (the team splits tokens then), post-norms.
ModelConfig olmo2_like() { return ModelConfig::new_model(Architecture::Olmo2, 128, 2, 4, 2, 256, 300, 1024, false); }
// LayerNorm with biases, a GELU MLP without gate, biases on every projection.
ModelConfig starcoder2_like() { return ModelConfig::new_model(Architecture::Starcoder2, 128, 2, 4, 2, 256, 300, 1024, false); }
ModelConfig k_quant_shape() { return ModelConfig::new_model(Architecture::Llama, 256, 2, 4, 2, 512, 300, 256, false); }

std::shared_ptr<const Model> random_model(const ModelConfig& shape, TensorType type) {
  static std::map<std::string, std::shared_ptr<const Model>> cache;
  static testing::TempDir dir;
  const std::string key = shape.arch_name + std::to_string(shape.dim) + std::to_string(shape.n_kv_heads) +
                          std::string(tensor_type_name(type)) + (shape.tied_output ? "t" : "u");
  auto& m = cache[key];
  if (!m) {
    RandomModelOptions o;
    o.shape = shape;
    o.type = type;
    o.seed = 42;
    const auto path = (dir / (key + ".gguf")).string();
    write_random_model(o, path);
    m = Model::load(path);
  }
  return m;
}

std::vector<int32_t> random_tokens(int n, int vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (auto& v : t) v = static_cast<int32_t>(rng() % static_cast<uint32_t>(vocab));
  t[0] = 1;  // BOS
  return t;
}

// Logits of each token evaluated one at a time.
std::vector<std::vector<float>> sequential_logits(Context& ctx, const std::vector<int32_t>& tokens) {
  std::vector<std::vector<float>> out;
  ctx.truncate(0);
  for (int32_t t : tokens) {
    ctx.forward(Batch::sequence(std::span<const int32_t>(&t, 1), ctx.n_past(), true));
    const int32_t first[] = {0};
    ctx.commit(first);
    auto l = ctx.logits(0);
    out.emplace_back(l.begin(), l.end());
  }
  return out;
}

bool same_bits(std::span<const float> a, std::span<const float> b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

class Forward : public ::testing::TestWithParam<ForwardCase> {};

const TensorType kCacheTypes[] = {TensorType::F32, TensorType::F16, TensorType::Q8_0};

// Q8_0 caches hold whole 32-element blocks per head; other shapes are refused (a test below).
bool cache_fits(const Model& m, TensorType kv) { return kv != TensorType::Q8_0 || m.config().head_dim % 32 == 0; }

TEST_P(Forward, BatchedEqualsSequentialBitwise) {
  const auto model = random_model(GetParam().shape, GetParam().type);
  for (const TensorType kv : kCacheTypes) {
  if (!cache_fits(*model, kv)) continue;
  SCOPED_TRACE(std::string("KV cache ") + std::string(tensor_type_name(kv)));
  Context seq(model, {.n_ctx = 160, .n_threads = 2, .cache_type_k = kv, .cache_type_v = kv});
  Context bat(model, {.n_ctx = 160, .n_threads = 2, .cache_type_k = kv, .cache_type_v = kv});
  const auto tokens = random_tokens(100, model->config().n_vocab, 7);
  const auto expected = sequential_logits(seq, tokens);
  // Batches of several sizes, including 64, one after another.
  size_t at = 0;
  for (size_t n : {1u, 2u, 5u, 64u, 28u}) {
    std::span<const int32_t> part(tokens.data() + at, n);
    bat.forward(Batch::sequence(part, bat.n_past(), true));
    for (size_t i = 0; i < n; ++i)
      ASSERT_TRUE(same_bits(bat.logits(static_cast<int>(i)), expected[at + i])) << "token " << at + i << " batch of " << n;
    std::vector<int32_t> all(n);
    for (size_t i = 0; i < n; ++i) all[i] = static_cast<int32_t>(i);
    bat.commit(all);
    at += n;
  }
  }
}

TEST_P(Forward, TreeNodesEqualTheirPathsDecodedSequentially) {
  const auto model = random_model(GetParam().shape, GetParam().type);
  for (const TensorType kv : kCacheTypes) {
  if (!cache_fits(*model, kv)) continue;
  SCOPED_TRACE(std::string("KV cache ") + std::string(tensor_type_name(kv)));
  Context ctx(model, {.n_ctx = 128, .n_threads = 2, .cache_type_k = kv, .cache_type_v = kv});
  Context ref(model, {.n_ctx = 128, .n_threads = 2, .cache_type_k = kv, .cache_type_v = kv});
  const auto prefix = random_tokens(20, model->config().n_vocab, 3);
  ctx.forward(Batch::sequence(prefix, 0, false));
  std::vector<int32_t> all(prefix.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int32_t>(i);
  ctx.commit(all);
  // A tree: root r (the last emitted token), children a, b; a has children c, d; c has e.
  const std::vector<int32_t> tokens = {5, 17, 23, 17, 42, 99};
  const std::vector<int32_t> parents = {-1, 0, 0, 1, 1, 3};
  Batch tree;
  tree.tokens = tokens;
  for (int32_t p : parents) {
    int depth = 0;
    for (int32_t q = p; q >= 0; q = parents[static_cast<size_t>(q)]) ++depth;
    tree.positions.push_back(static_cast<int32_t>(prefix.size()) + depth);
  }
  tree.mask = AttentionMask::tree(ctx.n_past(), parents);
  ctx.forward(tree);
  for (size_t node = 0; node < tokens.size(); ++node) {
    std::vector<int32_t> path = prefix;
    std::vector<int32_t> chain;
    for (int32_t q = static_cast<int32_t>(node); q >= 0; q = parents[static_cast<size_t>(q)]) chain.push_back(tokens[static_cast<size_t>(q)]);
    path.insert(path.end(), chain.rbegin(), chain.rend());
    const auto expected = sequential_logits(ref, path);
    ASSERT_TRUE(same_bits(ctx.logits(static_cast<int>(node)), expected.back())) << "node " << node;
  }
  // Accept the path r -> a -> c -> e and keep decoding: the cache must hold exactly that path.
  const int32_t accepted[] = {0, 1, 3, 5};
  ctx.commit(accepted);
  const int32_t next = 7;
  ctx.forward(Batch::sequence(std::span<const int32_t>(&next, 1), ctx.n_past(), true));
  std::vector<int32_t> path = prefix;
  for (int32_t i : accepted) path.push_back(tokens[static_cast<size_t>(i)]);
  path.push_back(next);
  const auto expected = sequential_logits(ref, path);
  EXPECT_TRUE(same_bits(ctx.logits(0), expected.back()));
  }
}

TEST_P(Forward, ScalarKernelsAndThreadCountsGiveTheSameBits) {
  const auto model = random_model(GetParam().shape, GetParam().type);
  const auto tokens = random_tokens(24, model->config().n_vocab, 11);
  for (const TensorType kv : kCacheTypes) {
    if (!cache_fits(*model, kv)) continue;
    SCOPED_TRACE(std::string("KV cache ") + std::string(tensor_type_name(kv)));
    Context fast(model, {.n_ctx = 64, .n_threads = 2, .cache_type_k = kv, .cache_type_v = kv});
    Context one(model, {.n_ctx = 64, .n_threads = 1, .cache_type_k = kv, .cache_type_v = kv});
    Context scalar(model, {.n_ctx = 64, .n_threads = 3, .scalar_kernels = true, .cache_type_k = kv, .cache_type_v = kv});
    for (Context* c : {&fast, &one, &scalar}) c->forward(Batch::sequence(tokens, 0, true));
    for (int i = 0; i < static_cast<int>(tokens.size()); ++i) {
      ASSERT_TRUE(same_bits(fast.logits(i), one.logits(i))) << i;
      ASSERT_TRUE(same_bits(fast.logits(i), scalar.logits(i))) << i;
    }
  }
}

// One kv head (multi-query attention) and layers large enough for a team: every member takes part
// in the head's attention, its keys and then its queries divided among them
// (TeamPartition::split_tasks). Decoding token by token deep enough that the keys are divided, and
// a tree, give the bits of one thread whatever the team; with a sliding window and soft-capped
// scores too.
TEST(ForwardSplitAttention, EveryTeamGivesTheBitsOfOneThread) {
  const ModelConfig mqa = ModelConfig::new_model(Architecture::Llama, 256, 2, 8, 1, 768, 300, 1024, true);
  ModelConfig gemma = ModelConfig::new_model(Architecture::Gemma2, 256, 2, 4, 1, 768, 300, 1024, true);
  gemma.head_dim = gemma.rope_dim = 64;
  gemma.sliding_window = 100;
  gemma.attn_softcap = 2.0f;
  gemma.final_softcap = 1.5f;
  for (const ModelConfig& shape : {mqa, gemma}) {
    SCOPED_TRACE(shape.arch_name);
    const ModelDims dims(shape);
    ASSERT_EQ(2, TeamPartition::team_size(dims, 1, 2)) << "one token must be worth a team";
    ASSERT_TRUE(TeamPartition(dims, 1, 2).split_tasks());
    ASSERT_TRUE(TeamPartition(dims, 6, 3).split_tasks());
    const auto model = random_model(shape, TensorType::F32);
    const auto tokens = random_tokens(240, shape.n_vocab, 13);
    for (const TensorType kv : kCacheTypes) {
      SCOPED_TRACE(std::string("KV cache ") + std::string(tensor_type_name(kv)));
      std::vector<std::unique_ptr<Context>> ctx;
      for (int threads : {1, 2, 3})
        ctx.push_back(std::make_unique<Context>(model, ContextOptions{.n_ctx = 256, .n_threads = threads, .cache_type_k = kv, .cache_type_v = kv}));
      std::vector<int32_t> prompt(40);
      for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<int32_t>(i);
      for (auto& c : ctx) {
        c->forward(Batch::sequence(std::span<const int32_t>(tokens.data(), prompt.size()), 0, false));
        c->commit(prompt);
      }
      for (size_t i = 40; i < tokens.size(); ++i) {
        for (auto& c : ctx) {
          c->forward(Batch::sequence(std::span<const int32_t>(&tokens[i], 1), c->n_past(), true));
          const int32_t first[] = {0};
          c->commit(first);
        }
        for (size_t t = 1; t < ctx.size(); ++t)
          ASSERT_TRUE(same_bits(ctx[0]->logits(0), ctx[t]->logits(0))) << "token " << i << ", team of " << t + 1;
      }
      const std::vector<int32_t> parents = {-1, 0, 0, 1, 1, 3};
      Batch tree;
      tree.tokens = {5, 17, 23, 17, 42, 99};
      for (int32_t p : parents) {
        int depth = 0;
        for (int32_t q = p; q >= 0; q = parents[static_cast<size_t>(q)]) ++depth;
        tree.positions.push_back(ctx[0]->n_past() + depth);
      }
      tree.mask = AttentionMask::tree(ctx[0]->n_past(), parents);
      for (auto& c : ctx) c->forward(tree);
      for (int node = 0; node < 6; ++node)
        for (size_t t = 1; t < ctx.size(); ++t)
          ASSERT_TRUE(same_bits(ctx[0]->logits(node), ctx[t]->logits(node))) << "node " << node << ", team of " << t + 1;
    }
  }
}

// Mixed cache types (keys F16, values F32 and the reverse) keep batched = sequential, and the
// F16 cache changes the logits only by the rounding of what it stores.
TEST(ForwardCacheTypes, MixedTypesAndTheF16CachesEffect) {
  const auto model = random_model(llama_gqa(), TensorType::F32);
  const auto tokens = random_tokens(40, model->config().n_vocab, 5);
  std::vector<std::vector<float>> last;
  for (auto [k, v] : {std::pair{TensorType::F32, TensorType::F32}, {TensorType::F16, TensorType::F32},
                      {TensorType::F32, TensorType::F16}, {TensorType::F16, TensorType::F16}}) {
    Context seq(model, {.n_ctx = 64, .n_threads = 2, .cache_type_k = k, .cache_type_v = v});
    Context bat(model, {.n_ctx = 64, .n_threads = 2, .cache_type_k = k, .cache_type_v = v});
    const auto expected = sequential_logits(seq, tokens);
    bat.forward(Batch::sequence(tokens, 0, true));
    for (size_t i = 0; i < tokens.size(); ++i)
      ASSERT_TRUE(same_bits(bat.logits(static_cast<int>(i)), expected[i])) << tensor_type_name(k) << "/" << tensor_type_name(v) << " token " << i;
    last.push_back(expected.back());
  }
  double spread = 0, f16_diff = 0;
  for (size_t j = 0; j < last[0].size(); ++j) {
    spread = std::max(spread, std::fabs(static_cast<double>(last[0][j])));
    f16_diff = std::max(f16_diff, std::fabs(static_cast<double>(last[3][j]) - last[0][j]));
  }
  EXPECT_GT(f16_diff, 0.0) << "the F16 cache rounds what it stores";
  EXPECT_LT(f16_diff, 1e-2 * spread) << "and only that";
}

TEST(ForwardCacheTypes, Q8_0CachesKeepBatchedEqualToSequential) {
  const auto model = random_model(llama_untied(), TensorType::F16);  // head size 32
  const auto tokens = random_tokens(40, model->config().n_vocab, 9);
  std::vector<float> exact;
  for (auto [k, v] : {std::pair{TensorType::F32, TensorType::F32}, {TensorType::Q8_0, TensorType::Q8_0},
                      {TensorType::Q8_0, TensorType::F16}, {TensorType::F16, TensorType::Q8_0}}) {
    Context seq(model, {.n_ctx = 64, .n_threads = 2, .cache_type_k = k, .cache_type_v = v});
    Context bat(model, {.n_ctx = 64, .n_threads = 3, .cache_type_k = k, .cache_type_v = v});
    const auto expected = sequential_logits(seq, tokens);
    bat.forward(Batch::sequence(tokens, 0, true));
    for (size_t i = 0; i < tokens.size(); ++i)
      ASSERT_TRUE(same_bits(bat.logits(static_cast<int>(i)), expected[i]))
          << tensor_type_name(k) << "/" << tensor_type_name(v) << " token " << i;
    if (k == TensorType::F32) {
      exact = expected.back();
      continue;
    }
    double spread = 0, diff = 0;
    for (size_t j = 0; j < exact.size(); ++j) {
      spread = std::max(spread, std::fabs(static_cast<double>(exact[j])));
      diff = std::max(diff, std::fabs(static_cast<double>(expected.back()[j]) - exact[j]));
    }
    EXPECT_GT(diff, 0.0) << tensor_type_name(k) << "/" << tensor_type_name(v);
    EXPECT_LT(diff, 5e-2 * spread) << tensor_type_name(k) << "/" << tensor_type_name(v);
  }
}

TEST(ForwardCacheTypes, Q8_0NeedsHeadsOfWholeBlocks) {
  const auto model = random_model(llama_gqa(), TensorType::F32);  // head size 16
  try {
    Context ctx(model, {.n_ctx = 64, .n_threads = 1, .cache_type_v = TensorType::Q8_0});
    FAIL() << "accepted";
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("values as Q8_0"), std::string::npos) << message;
    EXPECT_NE(message.find("head size 16 is not a multiple of 32"), std::string::npos) << message;
  }
  EXPECT_THROW(Context(model, {.n_ctx = 64, .n_threads = 1, .cache_type_k = TensorType::Q4_0}), InputError);
}

const ForwardCase kForwardCases[] = {
    {"llama_gqa_F32", llama_gqa(), TensorType::F32},   {"llama_gqa_F16", llama_gqa(), TensorType::F16},
    {"llama_gqa_BF16", llama_gqa(), TensorType::BF16}, {"llama_gqa_Q8_0", llama_gqa(), TensorType::Q8_0},
    {"llama_gqa_Q4_0", llama_gqa(), TensorType::Q4_0}, {"llama_untied_Q5_0", llama_untied(), TensorType::Q5_0},
    {"llama_untied_F16", llama_untied(), TensorType::F16}, {"qwen2_F16", qwen2_like(), TensorType::F16},
    {"qwen2_Q8_0", qwen2_like(), TensorType::Q8_0},    {"kquant_Q4_K", k_quant_shape(), TensorType::Q4_K},
    {"kquant_Q5_K", k_quant_shape(), TensorType::Q5_K}, {"kquant_Q6_K", k_quant_shape(), TensorType::Q6_K},
    {"phi3_F16", phi3_like(), TensorType::F16},         {"phi3_Q4_K", phi3_like(), TensorType::Q4_K},
    {"qwen3_F16", qwen3_like(), TensorType::F16},       {"qwen3_Q8_0", qwen3_like(), TensorType::Q8_0},
    {"gemma2_F16", gemma2_like(), TensorType::F16},     {"gemma2_Q4_0", gemma2_like(), TensorType::Q4_0},
    {"granite_Q8_0", granite_like(), TensorType::Q8_0}, {"olmo2_F16", olmo2_like(), TensorType::F16},
    {"olmo2_Q5_0", olmo2_like(), TensorType::Q5_0},      {"starcoder2_F16", starcoder2_like(), TensorType::F16},
    {"starcoder2_Q4_0", starcoder2_like(), TensorType::Q4_0},
};

INSTANTIATE_TEST_SUITE_P(Models, Forward, ::testing::ValuesIn(kForwardCases),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

// A sliding window hides what is older than the model's reach (layers x (window - 1) positions):
// tokens beyond it change nothing, bitwise, while one within it does. Contexts longer than the
// window are the default.
TEST(ForwardSlidingWindow, TokensBeyondTheWindowsReachChangeNothing) {
  RandomModelOptions o;
  o.shape = phi3_like(10);
  testing::TempDir dir;
  write_random_model(o, (dir / "swa.gguf").string());
  const auto model = Model::load((dir / "swa.gguf").string());
  const int reach = model->config().n_layers * (10 - 1);  // 18
  Context ctx(model, {.n_threads = 2});
  EXPECT_EQ(ctx.n_ctx(), model->config().ctx_train);
  const auto last_logits = [&](const std::vector<int32_t>& tokens) {
    ctx.truncate(0);
    ctx.forward(Batch::sequence(tokens, 0, false));
    const auto l = ctx.logits(static_cast<int>(tokens.size()) - 1);
    return std::vector<float>(l.begin(), l.end());
  };
  const auto tokens = random_tokens(60, model->config().n_vocab, 21);
  const auto base = last_logits(tokens);
  auto old_changed = tokens, recent_changed = tokens;
  for (int i = 1; i < 59 - reach; ++i) old_changed[static_cast<size_t>(i)] = (tokens[static_cast<size_t>(i)] + 1) % 300;
  recent_changed[static_cast<size_t>(59 - reach)] = (tokens[static_cast<size_t>(59 - reach)] + 1) % 300;
  EXPECT_TRUE(same_bits(last_logits(old_changed), base));
  EXPECT_FALSE(same_bits(last_logits(recent_changed), base));
}

// A library caller's mask that shows a query a key its window hides after one it shows cannot be
// attended from a first visible key: refused before the forward, naming the window; the same
// cells in position order run.
TEST(ForwardSlidingWindow, MasksOutOfPositionOrderAreRefused) {
  RandomModelOptions o;
  o.shape = phi3_like(10);
  testing::TempDir dir;
  write_random_model(o, (dir / "swa.gguf").string());
  const auto model = Model::load((dir / "swa.gguf").string());
  Context ctx(model, {.n_ctx = 64, .n_threads = 1});
  const auto tokens = random_tokens(30, model->config().n_vocab, 4);
  ctx.forward(Batch::sequence(tokens, 0, false));
  std::vector<int32_t> all(tokens.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int32_t>(i);
  ctx.commit(all);
  const auto one = [&](std::vector<int32_t> cells) {
    Batch b;
    b.tokens = {7};
    b.positions = {30};
    b.mask.prefix = 0;
    b.mask.add_query(cells);
    return b;
  };
  try {
    ctx.forward(one({25, 5, 30}));  // 25 is in the window of 10, 5 is not
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sliding window (10 positions)"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(ctx.forward(one({5, 25, 26, 30})));
}

TEST(ForwardErrors, FullContextAndBadTokensAreErrors) {
  const auto model = random_model(llama_gqa(), TensorType::F32);
  Context ctx(model, {.n_ctx = 8, .n_threads = 1});
  const auto tokens = random_tokens(9, model->config().n_vocab, 1);
  EXPECT_THROW(ctx.forward(Batch::sequence(tokens, 0, false)), InputError);
  const int32_t bad[] = {1, 100000};
  EXPECT_THROW(ctx.forward(Batch::sequence(bad, 0, false)), InputError);
  const int32_t negative[] = {-1};
  EXPECT_THROW(ctx.forward(Batch::sequence(negative, 0, false)), InputError);
}

}  // namespace
}  // namespace aded
