// A forward over a subset of sublayers (Batch::plan) is the forward of a model without them: a
// skipped attention sublayer gives bitwise the logits of the same model whose wo of that layer is
// zero (x + 0 == x), a skipped MLP those of the model whose w_down is zero, and an early exit after
// k layers those of the model cut to its first k layers. The variants are written as GGUF files
// from the random model's own tensors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "aded/context.h"
#include "aded/error.h"
#include "aded/gguf.h"
#include "aded/model_tools.h"
#include "support/test_support.h"

namespace aded {
namespace {

struct PlanCase {
  const char* name;
  ModelConfig shape;
  TensorType type;
};
void PrintTo(const PlanCase& c, std::ostream* os) { *os << c.name; }

ModelConfig with_rope_base(ModelConfig c, float base) {
  c.rope_base = base;
  return c;
}

// Three layers; big enough that batches run as team regions (one token stays on the calling
// thread); two kv heads (three threads take the path for fewer kv heads than threads) or one.
const PlanCase kPlanCases[] = {
    {"llama_F32", ModelConfig::new_model(Architecture::Llama, 128, 3, 4, 2, 512, 300, 256, true), TensorType::F32},
    {"llama_Q8_0", ModelConfig::new_model(Architecture::Llama, 128, 3, 4, 2, 512, 300, 256, false), TensorType::Q8_0},
    {"qwen2_F16", with_rope_base(ModelConfig::new_model(Architecture::Qwen2, 64, 3, 4, 1, 96, 300, 256, true), 1000000.0f), TensorType::F16},
};

testing::TempDir& temp_dir() {
  static testing::TempDir dir;
  return dir;
}

std::string base_path(const PlanCase& c) { return (temp_dir() / (std::string(c.name) + ".gguf")).string(); }

std::shared_ptr<const Model> base_model(const PlanCase& c) {
  static std::map<std::string, std::shared_ptr<const Model>> cache;
  auto& m = cache[c.name];
  if (!m) {
    RandomModelOptions o;
    o.shape = c.shape;
    o.type = c.type;
    o.seed = 5;
    write_random_model(o, base_path(c));
    m = Model::load(base_path(c));
  }
  return m;
}

int layer_of(const std::string& tensor) {
  if (tensor.rfind("blk.", 0) != 0) return -1;
  return std::stoi(tensor.substr(4));
}

// A copy of the case's model with the named tensors all zero bits (0.0 in every type tested:
// float zeros, or quantized blocks of scale 0), keeping only its first `layers` layers.
std::shared_ptr<const Model> variant(const PlanCase& c, const std::vector<std::string>& zeroed, int layers,
                                     const std::string& name) {
  base_model(c);
  const GgufFile in = GgufFile::open(base_path(c));
  GgufWriter w;
  w.copy_metadata(in);
  w.set_u32(c.shape.arch_name + ".block_count", static_cast<uint32_t>(layers));
  for (const GgufTensor& t : in.tensors()) {
    if (layer_of(t.name) >= layers) continue;
    if (std::find(zeroed.begin(), zeroed.end(), t.name) != zeroed.end())
      w.add_tensor(t.name, t.type, t.dims, [](std::span<uint8_t> out) { std::memset(out.data(), 0, out.size()); });
    else
      w.add_tensor_bytes(t.name, t.type, t.dims, {t.data, t.nbytes});
  }
  const auto path = (temp_dir() / (std::string(c.name) + "-" + name + ".gguf")).string();
  w.write(path);
  return Model::load(path);
}

std::string tensor(int layer, const char* what) { return "blk." + std::to_string(layer) + "." + what + ".weight"; }

// Every logits row of a session: a prompt batch, single tokens (one through the greedy head), a
// draft tree whose accepted path is committed, and another batch; all batches carry the plan.
std::vector<std::vector<float>> session(Context& ctx, const LayerPlan& plan) {
  std::vector<std::vector<float>> rows;
  const int vocab = ctx.model().config().n_vocab;
  const auto take = [&](int n) {
    for (int i = 0; i < n; ++i) {
      auto l = ctx.logits(i);
      rows.emplace_back(l.begin(), l.end());
    }
  };
  const auto commit_all = [&](int n) {
    std::vector<int32_t> all(static_cast<size_t>(n));
    std::iota(all.begin(), all.end(), 0);
    ctx.commit(all);
  };
  std::vector<int32_t> prompt;
  for (int i = 0; i < 40; ++i) prompt.push_back((i * 37 + 1) % vocab);
  Batch b = Batch::sequence(prompt, 0, true);
  b.plan = plan;
  ctx.forward(b);
  take(40);
  commit_all(40);
  for (int s = 0; s < 3; ++s) {
    const int32_t t = (s * 53 + 11) % vocab;
    Batch one = Batch::sequence(std::span<const int32_t>(&t, 1), ctx.n_past(), true);
    one.plan = plan;
    one.greedy_only = s == 1;
    ctx.forward(one);
    take(1);
    rows.push_back({static_cast<float>(ctx.greedy_argmax(0))});
    commit_all(1);
  }
  const std::vector<int32_t> parents = {-1, 0, 0, 1, 1, 3};
  Batch tree;
  for (size_t i = 0; i < parents.size(); ++i) tree.tokens.push_back(static_cast<int32_t>((i * 71 + 5) % 300));
  for (int32_t p : parents) {
    int depth = 0;
    for (int32_t q = p; q >= 0; q = parents[static_cast<size_t>(q)]) ++depth;
    tree.positions.push_back(ctx.n_past() + depth);
  }
  tree.mask = AttentionMask::tree(ctx.n_past(), parents);
  tree.plan = plan;
  ctx.forward(tree);
  take(6);
  const int32_t path[] = {0, 1, 3, 5};
  ctx.commit(path);
  std::vector<int32_t> more;
  for (int i = 0; i < 20; ++i) more.push_back((i * 13 + 7) % vocab);
  Batch last = Batch::sequence(more, ctx.n_past(), true);
  last.plan = plan;
  ctx.forward(last);
  take(20);
  return rows;
}

::testing::AssertionResult same_bits(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b) {
  if (a.size() != b.size()) return ::testing::AssertionFailure() << a.size() << " rows vs " << b.size();
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].size() != b[i].size() || std::memcmp(a[i].data(), b[i].data(), a[i].size() * sizeof(float)) != 0)
      return ::testing::AssertionFailure() << "row " << i << " differs";
  return ::testing::AssertionSuccess();
}

class LayerPlans : public ::testing::TestWithParam<PlanCase> {
 protected:
  // The session on the case's model with the plan, and on `other` without one, at 1, 2, 3 threads.
  void expect_same(const LayerPlan& plan, const std::shared_ptr<const Model>& other, const std::string& what) {
    const auto model = base_model(GetParam());
    for (int threads : {1, 2, 3}) {
      Context with_plan(model, {.n_ctx = 128, .n_threads = threads});
      Context plain(other, {.n_ctx = 128, .n_threads = threads});
      EXPECT_TRUE(same_bits(session(with_plan, plan), session(plain, {}))) << what << ", " << threads << " threads";
    }
  }
  int layers() const { return GetParam().shape.n_layers; }
};

TEST_P(LayerPlans, FullPlanIsNoPlan) {
  LayerPlan full;
  full.attention.assign(static_cast<size_t>(layers()), 1);
  full.mlp.assign(static_cast<size_t>(layers()), 7);  // any non-zero flag runs the sublayer
  full.exit_after = layers();
  expect_same(full, base_model(GetParam()), "full plan");
}

TEST_P(LayerPlans, SkippedAttentionIsAZeroOutputProjection) {
  for (int l = 0; l < layers(); ++l) {
    LayerPlan plan;
    plan.attention.assign(static_cast<size_t>(layers()), 1);
    plan.attention[static_cast<size_t>(l)] = 0;
    expect_same(plan, variant(GetParam(), {tensor(l, "attn_output")}, layers(), "no-attn-" + std::to_string(l)),
                "attention of layer " + std::to_string(l) + " skipped");
  }
}

TEST_P(LayerPlans, SkippedMlpIsAZeroDownProjection) {
  for (int l = 0; l < layers(); ++l) {
    LayerPlan plan;
    plan.mlp.assign(static_cast<size_t>(layers()), 1);
    plan.mlp[static_cast<size_t>(l)] = 0;
    expect_same(plan, variant(GetParam(), {tensor(l, "ffn_down")}, layers(), "no-mlp-" + std::to_string(l)),
                "MLP of layer " + std::to_string(l) + " skipped");
  }
}

TEST_P(LayerPlans, EarlyExitIsTheTruncatedModel) {
  for (int k = 1; k < layers(); ++k) {
    LayerPlan plan;
    plan.exit_after = k;
    expect_same(plan, variant(GetParam(), {}, k, "first-" + std::to_string(k)), "exit after " + std::to_string(k));
  }
}

TEST_P(LayerPlans, SkipsAndExitTogether) {
  LayerPlan plan;
  plan.attention = {0, 1, 1};
  plan.mlp = {1, 0, 0};  // layer 2's flag lies past the exit: ignored
  plan.exit_after = 2;
  expect_same(plan, variant(GetParam(), {tensor(0, "attn_output"), tensor(1, "ffn_down")}, 2, "mixed"),
              "mixed plan");
}

INSTANTIATE_TEST_SUITE_P(Models, LayerPlans, ::testing::ValuesIn(kPlanCases),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

// A forward that runs no attention sublayer writes no cache cell: the cells of the batch before it
// (same positions, other tokens) are still there after it, so committing them and going on gives
// what committing the earlier batch gives.
TEST(LayerPlan, SkippedAttentionLeavesTheCacheCellsAlone) {
  const auto model = base_model(kPlanCases[0]);
  const int n_layers = kPlanCases[0].shape.n_layers;
  const std::vector<int32_t> tokens = {1, 50, 60, 70, 80, 90, 100, 110};
  const std::vector<int32_t> other = {1, 51, 61, 71, 81, 91, 101, 111};
  const int32_t next = 42;
  std::vector<int32_t> all(tokens.size());
  std::iota(all.begin(), all.end(), 0);
  for (int threads : {1, 2, 3}) {
    Context ref(model, {.n_ctx = 64, .n_threads = threads});
    ref.forward(Batch::sequence(tokens, 0, false));
    ref.commit(all);
    ref.forward(Batch::sequence(std::span<const int32_t>(&next, 1), ref.n_past(), true));
    const auto expected = ref.logits(0);

    LayerPlan no_attention;
    no_attention.attention.assign(static_cast<size_t>(n_layers), 0);
    LayerPlan first_layer_mlp_only;
    first_layer_mlp_only.attention = {0, 1, 1};
    first_layer_mlp_only.exit_after = 1;
    for (const LayerPlan& plan : {no_attention, first_layer_mlp_only}) {
      Context ctx(model, {.n_ctx = 64, .n_threads = threads});
      ctx.forward(Batch::sequence(tokens, 0, false));  // writes the cells, not committed
      Batch b = Batch::sequence(other, 0, true);
      b.plan = plan;
      ctx.forward(b);  // same cells, other tokens, no attention run
      ctx.commit(all);
      ctx.forward(Batch::sequence(std::span<const int32_t>(&next, 1), ctx.n_past(), true));
      const auto got = ctx.logits(0);
      EXPECT_EQ(std::memcmp(got.data(), expected.data(), got.size() * sizeof(float)), 0) << threads << " threads";
    }
  }
}

TEST(LayerPlan, PlansThatDoNotFitTheModelAreErrors) {
  const auto model = base_model(kPlanCases[0]);
  Context ctx(model, {.n_ctx = 64, .n_threads = 2});
  const std::vector<int32_t> tokens = {1, 2, 3, 4};
  const auto with = [&](LayerPlan plan) {
    Batch b = Batch::sequence(tokens, 0, true);
    b.plan = std::move(plan);
    return b;
  };
  EXPECT_THROW(ctx.forward(with({.attention = {1, 1}})), Error);
  EXPECT_THROW(ctx.forward(with({.mlp = {1, 1, 1, 1}})), Error);
  EXPECT_THROW(ctx.forward(with({.exit_after = -1})), Error);
  EXPECT_THROW(ctx.forward(with({.exit_after = 4})), Error);
  EXPECT_EQ(ctx.forwards(), 0u);  // nothing ran
  ctx.forward(with({.attention = {1, 0, 1}, .mlp = {0, 1, 1}, .exit_after = 3}));
  EXPECT_EQ(ctx.forwards(), 1u);
}

// Batch::weights runs the layers with another model's weights over the context's cache: a model
// loaded from the same file gives bitwise the context's own logits; its Q8_0 copy writes cells
// the next forward of the full model reads (close logits, not equal ones); a model of another
// shape is refused before anything runs.
TEST(LayerPlan, WeightsOfACopyRunOverTheContextsCache) {
  const PlanCase& c = kPlanCases[0];
  const auto model = base_model(c);
  const auto same = Model::load(base_path(c));
  QuantizeOptions q;
  q.type = TensorType::Q8_0;
  const std::string copy_path = (temp_dir() / "weights_copy_q8.gguf").string();
  quantize_model(base_path(c), copy_path, q);
  const auto copy = Model::load(copy_path);
  const std::vector<int32_t> tokens = {1, 50, 60, 70, 80, 90};
  for (int threads : {1, 2}) {
    Context ref(model, {.n_ctx = 64, .n_threads = threads});
    ref.forward(Batch::sequence(tokens, 0, true));
    Context ctx(model, {.n_ctx = 64, .n_threads = threads});
    Batch b = Batch::sequence(tokens, 0, true);
    b.weights = same.get();
    ctx.forward(b);
    for (int i = 0; i < static_cast<int>(tokens.size()); ++i)
      EXPECT_EQ(std::memcmp(ctx.logits(i).data(), ref.logits(i).data(), ref.logits(i).size() * sizeof(float)), 0)
          << threads << " threads, token " << i;
    b.weights = copy.get();
    ctx.forward(b);
    float largest = 0;
    for (int i = 0; i < static_cast<int>(tokens.size()); ++i)
      for (size_t v = 0; v < ref.logits(i).size(); ++v)
        largest = std::max(largest, std::fabs(ctx.logits(i)[v] - ref.logits(i)[v]));
    EXPECT_GT(largest, 0.0f);
    EXPECT_LT(largest, 0.1f);
  }
  Context ctx(model, {.n_ctx = 64, .n_threads = 2});
  Batch b = Batch::sequence(tokens, 0, true);
  const auto other = base_model(kPlanCases[2]);
  b.weights = other.get();
  EXPECT_THROW(ctx.forward(b), Error);
  EXPECT_EQ(ctx.forwards(), 0u);
}

}  // namespace
}  // namespace aded
