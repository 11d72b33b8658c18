// The checkpoint reader: a checkpoint whose checksum matches may still have been edited, or
// written by a run that went wrong. Every value it takes is range-checked: counts that overflow
// the trainer's arithmetic, non-finite settings, NaN or infinite weights and moments, negative
// second moments, and a shape that does not match the run are refused with InputError.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "aded/error.h"
#include "train/checkpoint.h"
#include "train/parameter_layout.h"
#include "support/test_support.h"
#include "train/train_test_support.h"

namespace aded::train {
namespace {

const ModelConfig kShape = ModelConfig::new_model(Architecture::Llama, 8, 1, 2, 1, 16, 10, 8, true);

struct Arrays {
  std::vector<float> params, m, v;
  Arrays() {
    const size_t n = ParameterLayout(kShape).size();
    params.assign(n, 0.5f);
    m.assign(n, 0.01f);
    v.assign(n, 0.001f);
  }
};

std::vector<uint8_t> checkpoint_bytes(const Arrays& a, const TrainState& state = {},
                                      const TrainSettings& settings = {}) {
  aded::testing::TempDir dir;
  const std::string path = (dir / "c.ckpt").string();
  save_checkpoint(path, kShape, settings, state, a.params, a.m, a.v);
  const std::string bytes = aded::testing::read_file(path);
  return {bytes.begin(), bytes.end()};
}

// The bytes again, with one metadata edit (the checksum covers only the tensors, so it stays valid).
std::vector<uint8_t> edited(const std::vector<uint8_t>& bytes,
                            const std::function<void(GgufWriter&)>& edit) {
  const GgufFile f = GgufFile::parse(MappedFile::from_bytes(bytes, "c.ckpt"));
  GgufWriter w;
  w.copy_metadata(f);
  for (const auto& t : f.tensors()) w.add_tensor_bytes(t.name, t.type, t.dims, {t.data, t.nbytes});
  edit(w);
  return w.to_bytes();
}

Checkpoint load(const std::vector<uint8_t>& bytes) {
  return load_checkpoint(GgufFile::parse(MappedFile::from_bytes(bytes, "c.ckpt")));
}

TEST(CheckpointReader, AGoodCheckpointLoadsAndResumes) {
  const Checkpoint c = load(checkpoint_bytes(Arrays{}));
  EXPECT_EQ(c.shape, kShape);
  EXPECT_NO_THROW(check_resumable(c, kShape, "c.ckpt"));
  ModelConfig other = kShape;
  other.hidden_dim = 32;
  EXPECT_INPUT_ERROR(check_resumable(c, other, "c.ckpt"), "c.ckpt: the checkpoint is for a different model");
}

TEST(CheckpointReader, NonFiniteWeightsAndMomentsAreRefused) {
  for (const float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity()}) {
    Arrays a;
    a.params[3] = bad;
    EXPECT_INPUT_ERROR(load(checkpoint_bytes(a)), "tensor 'params' holds");
    Arrays b;
    b.m[7] = bad;
    EXPECT_INPUT_ERROR(load(checkpoint_bytes(b)), "tensor 'adam.m' holds");
    Arrays c;
    c.v.back() = bad;
    EXPECT_INPUT_ERROR(load(checkpoint_bytes(c)), "tensor 'adam.v' holds");
  }
  Arrays negative;
  negative.v[0] = -1e-3f;
  EXPECT_INPUT_ERROR(load(checkpoint_bytes(negative)), "tensor 'adam.v' holds -0.001 at index 0");
}

TEST(CheckpointReader, NonFiniteSettingsAreRefused) {
  const auto good = checkpoint_bytes(Arrays{});
  for (const char* key : {"aded.train.lr", "aded.train.weight_decay", "aded.train.min_lr_fraction",
                          "aded.train.beta1", "aded.train.beta2", "aded.train.grad_clip"}) {
    for (const float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
      const auto bytes = edited(good, [&](GgufWriter& w) { w.set_f32(key, bad); });
      EXPECT_INPUT_ERROR(load(bytes), std::string(key) + " = ");
    }
  }
}

TEST(CheckpointReader, CountersThatWouldOverflowAreRefused) {
  const auto good = checkpoint_bytes(Arrays{});
  for (const char* key : {"aded.train.step", "aded.train.steps", "aded.train.warmup_steps",
                          "aded.train.tokens_seen", "aded.train.elapsed_us", "aded.train.minutes_ms"}) {
    for (const uint64_t bad : {(uint64_t{1} << 62) + 1, uint64_t{1} << 63, ~uint64_t{0}}) {
      const auto bytes = edited(good, [&](GgufWriter& w) { w.set_u64(key, bad); });
      EXPECT_INPUT_ERROR(load(bytes), std::string(key) + " = " + std::to_string(bad) + " is out of range");
    }
  }
  for (const char* key : {"aded.checkpoint.dim", "aded.checkpoint.vocab", "aded.train.batch"}) {
    const auto bytes = edited(good, [&](GgufWriter& w) { w.set_u32(key, 0xFFFFFFFFu); });
    EXPECT_INPUT_ERROR(load(bytes), "out of range");
  }
}

// A shape edited to a larger model: the tensors no longer fit it, and nothing of its size is
// allocated before that is noticed.
TEST(CheckpointReader, AnEditedShapeIsRefusedBeforeAllocating) {
  const auto good = checkpoint_bytes(Arrays{});
  const auto bytes = edited(good, [](GgufWriter& w) {
    w.set_u32("aded.checkpoint.dim", 1 << 16);
    w.set_u32("aded.checkpoint.vocab", 1 << 22);
  });
  EXPECT_INPUT_ERROR(load(bytes), "does not fit the model shape");
}

}  // namespace
}  // namespace aded::train
