// run_bench (`aded bench`): every measurement is there and positive, and the greedy-head mode
// accounts for the bytes a greedy step actually streams (the int8 copy instead of a float output
// matrix; unchanged when the output matrix is quantized and there is no greedy head).
#include "aded/bench.h"
#include "aded/error.h"

#include <gtest/gtest.h>

#include "aded/model_tools.h"
#include "support/test_support.h"

namespace aded {
namespace {

BenchOptions tiny_options(bool greedy_head) {
  BenchOptions o;
  o.threads = 2;
  o.repetitions = 1;
  o.pp_tokens = 16;
  o.tg_tokens = 8;
  o.depths = {0, 8, 40};
  o.cost_sizes = {1, 2, 4};
  o.cost_repetitions = 2;
  o.greedy_head = greedy_head;
  return o;
}

std::shared_ptr<const Model> random_model(testing::TempDir& dir, TensorType type) {
  RandomModelOptions o;
  o.shape = ModelConfig::new_model(Architecture::Llama, 64, 2, 4, 2, 160, 320, 64, true);
  o.type = type;
  o.seed = 3;
  const auto path = (dir / (std::string(tensor_type_name(type)) + ".gguf")).string();
  write_random_model(o, path);
  return Model::load(path);
}

void expect_complete(const BenchResult& r, const BenchOptions& o) {
  EXPECT_EQ(r.threads, 2);
  EXPECT_GT(r.pp_tps.mean, 0);
  EXPECT_GT(r.tg_tps.mean, 0);
  ASSERT_EQ(r.cost_curves.size(), o.depths.size());
  for (size_t d = 0; d < o.depths.size(); ++d) {
    const auto& curve = r.cost_curves[d];
    EXPECT_EQ(curve.depth, o.depths[d]);
    ASSERT_EQ(curve.points.size(), o.cost_sizes.size());
    for (size_t k = 0; k < curve.points.size(); ++k) {
      EXPECT_EQ(curve.points[k].n, o.cost_sizes[k]);
      EXPECT_GT(curve.points[k].ms, 0);
      EXPECT_GT(curve.points[k].layers_ms, 0);
    }
    EXPECT_DOUBLE_EQ(curve.points.front().rel, 1.0);
  }
  EXPECT_GT(r.bandwidth_gbps, 0);
}

TEST(Bench, GreedyModeCountsTheInt8HeadInsteadOfTheFloatOutputMatrix) {
  testing::TempDir dir;
  const auto model = random_model(dir, TensorType::F32);
  const BenchOptions greedy = tiny_options(true), full = tiny_options(false);
  const BenchResult g = run_bench(model, greedy), f = run_bench(model, full);
  expect_complete(g, greedy);
  expect_complete(f, full);
  EXPECT_EQ(f.weight_bytes, model->weight_bytes_per_token());
  // 320 x 64 F32 (4 bytes each) replaced by Q8_0 (34 bytes per 32 values).
  EXPECT_EQ(g.weight_bytes, f.weight_bytes - 320u * 64u * 4u + 320u * (64u / 32u) * 34u);
}

TEST(Bench, DepthsMustBeAscendingAndFitTheContext) {
  testing::TempDir dir;
  const auto model = random_model(dir, TensorType::F32);
  BenchOptions o = tiny_options(true);
  o.depths = {40, 8};
  EXPECT_THROW(run_bench(model, o), InputError);
  o.depths = {8, 8};
  EXPECT_THROW(run_bench(model, o), InputError);
  o.depths = {8, 60};
  o.n_ctx = 62;  // 60 + the largest forward of 4 does not fit
  try {
    run_bench(model, o);
    FAIL() << "accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("depth 60"), std::string::npos) << e.what();
  }
}

TEST(Bench, QuantizedOutputMatrixHasNoGreedyHead) {
  testing::TempDir dir;
  const auto model = random_model(dir, TensorType::Q8_0);
  const BenchOptions greedy = tiny_options(true);
  const BenchResult g = run_bench(model, greedy);
  expect_complete(g, greedy);
  EXPECT_EQ(g.weight_bytes, model->weight_bytes_per_token());
}

}  // namespace
}  // namespace aded
