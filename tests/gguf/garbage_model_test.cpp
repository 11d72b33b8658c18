// Files that parse and fit together, but could only produce garbage: NaN or infinite weights,
// RoPE settings that lose the positions, metadata that does not describe the tensors the file
// holds. Each is refused with an InputError naming the file and the problem — at load for the
// metadata and the tensor set, when a context packs the weights for NaN and infinities in the
// matrices, and at run time (logits that are not finite) for everything the checks before cannot
// see. Never exit 0 with garbage.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <limits>

#include "aded/context.h"
#include "gguf/tiny_model.h"
#include "support/test_support.h"

namespace aded {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using aded::testing::model_rejection;
using aded::testing::rejection;
using aded::testing::TinyModel;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

std::string context_rejection(const TinyModel& m, ContextOptions o = {}) {
  const auto model = m.load();
  return rejection([&] { Context ctx(model, o); });
}

// ------------------------------------------------------------------------------------------------
// Metadata

TEST(GarbageModel, RopeBaseMustBeAFiniteNumberAboveOne) {
  for (const float base : {kInf, -kInf, kNaN, 0.0f, -10000.0f, 1.0f}) {
    TinyModel m;
    m.edit = [base](GgufWriter& w) { w.set_f32("llama.rope.freq_base", base); };
    EXPECT_THAT(model_rejection(m), AllOf(HasSubstr("tiny.gguf"), HasSubstr("llama.rope.freq_base"),
                                          HasSubstr("out of range"))) << base;
  }
}

TEST(GarbageModel, NormEpsilonMustBeFiniteAndSmall) {
  for (const float eps : {kInf, kNaN, 0.0f, -1e-5f, 1.0f}) {
    TinyModel m;
    m.edit = [eps](GgufWriter& w) { w.set_f32("llama.attention.layer_norm_rms_epsilon", eps); };
    EXPECT_THAT(model_rejection(m), HasSubstr("llama.attention.layer_norm_rms_epsilon")) << eps;
  }
}

TEST(GarbageModel, RopeScalingFactorMustBeFinite) {
  for (const float factor : {kInf, kNaN, 0.0f, -2.0f}) {
    TinyModel m;
    m.edit = [factor](GgufWriter& w) {
      w.set_string("llama.rope.scaling.type", "linear");
      w.set_f32("llama.rope.scaling.factor", factor);
    };
    EXPECT_THAT(model_rejection(m), HasSubstr("RoPE scaling factor")) << factor;
  }
}

// rope_freqs.weight divides each pair's frequency (rope_dim / 2 = 2 pairs here).
TEST(GarbageModel, RopeFrequencyFactorsMustBePositive) {
  for (const float factor : {0.0f, -1.0f, kNaN, kInf, 1e-30f}) {
    TinyModel m;
    m.extra["rope_freqs.weight"] = {{2}, factor};
    EXPECT_THAT(model_rejection(m), AllOf(HasSubstr("tiny.gguf"), HasSubstr("'rope_freqs.weight'")))
        << factor;
  }
  TinyModel one_bad;
  one_bad.extra["rope_freqs.weight"] = {{2}, 1.0f};
  one_bad.poke["rope_freqs.weight"] = {1, 0.0f};
  EXPECT_THAT(model_rejection(one_bad), HasSubstr("factor 0 at 1"));
  TinyModel good;
  good.extra["rope_freqs.weight"] = {{2}, 8.0f};
  EXPECT_NO_THROW(good.load());
}

// Every logit 0 whatever the text: greedy decoding printed token 0 ("<unk>", shown as ⁇) with
// exit 0. One non-zero element is a model (if a poor one).
TEST(GarbageModel, OutputNormOfZerosIsRefused) {
  TinyModel m;
  m.zeros.insert("output_norm.weight");
  EXPECT_THAT(model_rejection(m),
              AllOf(HasSubstr("tiny.gguf"), HasSubstr("'output_norm.weight' is all zeros"),
                    HasSubstr("every logit would be 0")));
  TinyModel one;
  one.zeros.insert("output_norm.weight");
  one.poke["output_norm.weight"] = {3, 0.5f};
  EXPECT_NO_THROW(one.load());
}

// ------------------------------------------------------------------------------------------------
// The tensor set

TEST(GarbageModel, BlockCountSmallerThanTheLayersInTheFile) {
  TinyModel m;
  m.tensor_layers = 2;  // block_count stays 1
  EXPECT_THAT(model_rejection(m), AllOf(HasSubstr("tiny.gguf"), HasSubstr("layer 1"),
                                        HasSubstr("says 1 layers (llama.block_count)")));
  TinyModel far;
  far.extra["blk.7.attn_q.weight"] = {{8, 8}, 0.1f};
  EXPECT_THAT(model_rejection(far), HasSubstr("'blk.7.attn_q.weight' of layer 7"));
}

TEST(GarbageModel, TensorsTheForwardWouldIgnore) {
  // Another architecture's norms (Qwen3's q/k norms) or biases a llama model has no place for.
  for (const char* name : {"blk.0.attn_q_norm.weight", "blk.0.attn_q.bias", "blk.0.ffn_gate_inp.weight",
                           "output.bias", "something_else"}) {
    TinyModel m;
    m.extra[name] = {{8}, 0.5f};
    EXPECT_THAT(model_rejection(m), AllOf(HasSubstr(std::string("'") + name + "'"),
                                          HasSubstr("not part of a llama model"))) << name;
  }
}

// ------------------------------------------------------------------------------------------------
// Weights

TEST(GarbageModel, NonFiniteWeightsAreRefusedWhenPacked) {
  const std::pair<const char*, size_t> matrices[] = {{"token_embd.weight", 8}, {"blk.0.attn_q.weight", 8},
                                                     {"blk.0.attn_v.weight", 8}, {"blk.0.ffn_down.weight", 16},
                                                     {"blk.0.ffn_gate.weight", 8}};
  for (const auto& [name, columns] : matrices) {
    for (const float bad : {kNaN, kInf, -kInf}) {
      TinyModel m;
      m.poke[name] = {2 * columns + 3, bad};
      EXPECT_NO_THROW(m.load());  // `aded info` still shows such a file
      EXPECT_THAT(context_rejection(m), AllOf(HasSubstr("tiny.gguf"), HasSubstr(std::string("'") + name + "'"),
                                              HasSubstr("row 2, column 3"), HasSubstr("damaged")))
          << name << " " << bad;
    }
  }
  // The error stays: a second context gets it again.
  TinyModel m;
  m.poke["blk.0.attn_k.weight"] = {0, kNaN};
  const auto model = m.load();
  for (int i = 0; i < 2; ++i)
    EXPECT_THAT(rejection([&] { Context ctx(model); }), HasSubstr("'blk.0.attn_k.weight'"));
}

Batch one_token(bool greedy) {
  static const int32_t token = 3;
  Batch b = Batch::sequence({&token, 1}, 0, true);
  b.greedy_only = greedy;
  return b;
}

// The scalar kernels read the file's layout and pack nothing: the logits show the damage.
TEST(GarbageModel, NonFiniteWeightsGiveARunTimeErrorWithoutPacking) {
  TinyModel m;
  m.poke["blk.0.attn_q.weight"] = {5, kNaN};
  const auto model = m.load();
  ContextOptions o;
  o.scalar_kernels = true;
  o.n_threads = 1;
  for (const bool greedy : {false, true}) {
    Context ctx(model, o);
    EXPECT_THAT(rejection([&] { ctx.forward(one_token(greedy)); }),
                AllOf(HasSubstr("tiny.gguf"), HasSubstr("non-finite logits"), HasSubstr("position 0")));
  }
}

// Finite weights whose products overflow float: caught at run time, with and without the
// greedy head.
TEST(GarbageModel, LogitsThatOverflowAreARunTimeError) {
  TinyModel m;
  m.extra["output.weight"] = {{8, 6}, 3e38f};
  const auto model = m.load();
  ContextOptions o;
  o.n_threads = 1;
  for (const bool greedy : {false, true}) {
    Context ctx(model, o);
    EXPECT_THAT(rejection([&] { ctx.forward(one_token(greedy)); }),
                AllOf(HasSubstr("non-finite logits"), HasSubstr("inf"))) << greedy;
  }
}

// End to end, as the issue found it: `aded run --temp 0` on a model with NaN weights exited 0
// printing "⁇ ⁇ ⁇". Now exit 1 and the tensor's name, whichever kernels run.
TEST(GarbageModel, RunRefusesNaNWeightsEndToEnd) {
  aded::testing::TempDir dir;
  TinyModel m;
  m.poke["blk.0.ffn_up.weight"] = {40, kNaN};
  const auto path = dir / "nan.gguf";
  const auto bytes = m.bytes();
  aded::testing::write_file(path, std::string(bytes.begin(), bytes.end()));
  for (const char* sampling : {"--temp 0", "--temp 0.8 --seed 1", "--temp 0 --full-head"}) {
    const auto r = aded::testing::run_cli("run -m '" + path.string() + "' -p a -n 4 " + sampling);
    EXPECT_EQ(r.exit_code, 1) << sampling;
    EXPECT_THAT(r.err, AllOf(HasSubstr("nan.gguf"), HasSubstr("'blk.0.ffn_up.weight'"))) << sampling;
  }
  ::setenv("ADED_KERNELS", "scalar", 1);
  const auto scalar = aded::testing::run_cli("run -m '" + path.string() + "' -p a -n 4 --temp 0");
  ::unsetenv("ADED_KERNELS");
  EXPECT_EQ(scalar.exit_code, 1);
  EXPECT_THAT(scalar.err, HasSubstr("non-finite logits"));
  EXPECT_EQ(aded::testing::run_cli("info '" + path.string() + "'").exit_code, 0);
}

}  // namespace
}  // namespace aded
