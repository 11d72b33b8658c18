// The one table of tensor names and dims, and the model metadata that every writer writes with
// write_model_config and the loader reads back with read_model_config.
#include "model/model_metadata.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <stdexcept>
#include <tuple>

#include "aded/error.h"
#include "aded/model_tools.h"
#include "model/model_tensors.h"
#include "support/test_support.h"

namespace aded {
namespace {

GgufFile parse(const GgufWriter& w) {
  return GgufFile::parse(MappedFile::from_bytes(w.to_bytes(), "config.gguf"));
}

// Writes the configuration and reads it back; n_vocab and tied_output belong to the tensors.
ModelConfig round_trip(const ModelConfig& c) {
  GgufWriter w;
  write_model_config(w, c, "round trip", TensorType::Q8_0);
  ModelConfig back = read_model_config(parse(w));
  back.n_vocab = c.n_vocab;
  back.tied_output = c.tied_output;
  return back;
}

TEST(ModelMetadata, WhatIsWrittenIsReadBack) {
  const ModelConfig llama =
      ModelConfig::new_model(Architecture::Llama, 64, 2, 4, 2, 160, 512, 256, true);
  EXPECT_EQ(round_trip(llama), llama);
  ModelConfig qwen2 = *named_model_shape("qwen2-0.5b");
  EXPECT_EQ(round_trip(qwen2), qwen2);
  // What the conventions do not give: heads of another size than dim / heads, RoPE over part of
  // the head, linear RoPE scaling.
  qwen2.head_dim = 128;
  qwen2.rope_dim = 32;
  qwen2.rope_scale = 4.0f;
  qwen2.norm_eps = 1e-5f;
  EXPECT_EQ(round_trip(qwen2), qwen2);
  // Each architecture's own keys: Phi-3's window and LongRoPE, Gemma 2's caps and window, Granite's
  // multipliers.
  for (const char* shape : {"phi-3.5-mini", "tiny-phi3", "qwen3-0.6b", "gemma-2-2b", "tiny-gemma2", "granite-3.1-2b",
                            "olmo-2-1b", "starcoder2-3b", "tiny-qwen2-yarn"}) {
    ModelConfig c = *named_model_shape(shape);
    EXPECT_EQ(round_trip(c), c) << shape;
    if (c.sliding_window > 0) c.sliding_window = 1000;  // the architectures that have one
    c.attn_softcap = c.gemma2() ? 40.0f : 0.0f;
    EXPECT_EQ(round_trip(c), c) << shape;
  }
}

// The architectures' own keys with values no model has are refused, naming the key.
TEST(ModelMetadata, BadArchitectureKeysAreRefused) {
  const auto rejection = [](const ModelConfig& c, const std::function<void(GgufWriter&)>& edit) {
    GgufWriter w;
    write_model_config(w, c, "bad", TensorType::F32);
    edit(w);
    try {
      (void)read_model_config(parse(w));
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  const ModelConfig phi3 = *named_model_shape("tiny-phi3"), gemma2 = *named_model_shape("tiny-gemma2"),
                    granite = *named_model_shape("tiny-granite");
  EXPECT_NE(rejection(phi3, [](GgufWriter& w) { w.set_f32("phi3.rope.scaling.attn_factor", -1.0f); })
                .find("phi3.rope.scaling.attn_factor = -1 is out of range"),
            std::string::npos);
  EXPECT_NE(rejection(phi3, [](GgufWriter& w) { w.set_u32("phi3.attention.sliding_window", 0xFFFFFFFFu); })
                .find("phi3.attention.sliding_window"),
            std::string::npos);
  EXPECT_NE(rejection(gemma2, [](GgufWriter& w) { w.set_f32("gemma2.final_logit_softcapping", NAN); })
                .find("gemma2.final_logit_softcapping"),
            std::string::npos);
  EXPECT_NE(rejection(granite, [](GgufWriter& w) { w.set_f32("granite.logit_scale", 0.0f); })
                .find("granite.logit_scale = 0 is out of range"),
            std::string::npos);
  EXPECT_EQ(rejection(granite, [](GgufWriter&) {}), "accepted");
  const ModelConfig yarn = *named_model_shape("tiny-qwen2-yarn");
  EXPECT_NE(rejection(yarn, [](GgufWriter& w) { w.set_f32("qwen2.rope.scaling.factor", 0.5f); }).find("YaRN factor 0.5"),
            std::string::npos);
  EXPECT_NE(rejection(yarn, [](GgufWriter& w) { w.set_string("qwen2.rope.scaling.type", "su"); })
                .find("RoPE scaling 'su' is not supported (supported: none, linear, yarn)"),
            std::string::npos);
  EXPECT_EQ(rejection(yarn, [](GgufWriter&) {}), "accepted");
}

TEST(ModelMetadata, GeneralKeys) {
  GgufWriter w;
  write_model_config(w, *named_model_shape("tiny"), "a name", TensorType::Q4_K);
  const GgufFile f = parse(w);
  EXPECT_EQ(f.get_string(kArchitectureKey), "llama");
  EXPECT_EQ(f.get_string(kModelNameKey), "a name");
  EXPECT_EQ(f.get_uint(kFileTypeKey), file_type_code(TensorType::Q4_K));
  EXPECT_EQ(f.get_uint("llama.embedding_length"), 64u);
  EXPECT_FALSE(f.find("llama.attention.key_length"));  // dim / heads: left to the reader
}

TEST(ModelTensors, NamesAreLlamaCppNames) {
  EXPECT_EQ(tensor_name(TensorKind::TokenEmbedding), "token_embd.weight");
  EXPECT_EQ(tensor_name(TensorKind::Output), "output.weight");
  EXPECT_EQ(tensor_name(TensorKind::AttnQ, 3), "blk.3.attn_q.weight");
  EXPECT_EQ(tensor_name(TensorKind::AttnKBias, 0), "blk.0.attn_k.bias");
  EXPECT_EQ(tensor_name(TensorKind::FfnDown, 11), "blk.11.ffn_down.weight");
  EXPECT_TRUE(is_layer_tensor(TensorKind::FfnNorm));
  EXPECT_FALSE(is_layer_tensor(TensorKind::OutputNorm));
  EXPECT_THROW((void)tensor_name(TensorKind::AttnNorm), std::logic_error);
  EXPECT_THROW((void)tensor_name(TensorKind::OutputNorm, 2), std::logic_error);
}

TEST(ModelTensors, DimsFollowTheConfiguration) {
  ModelConfig c = ModelConfig::new_model(Architecture::Qwen2, 64, 2, 4, 1, 96, 300, 256, true);
  using Dims = std::vector<int64_t>;
  EXPECT_EQ(tensor_dims(TensorKind::TokenEmbedding, c), (Dims{64, 300}));
  EXPECT_EQ(tensor_dims(TensorKind::AttnK, c), (Dims{64, 16}));
  EXPECT_EQ(tensor_dims(TensorKind::AttnVBias, c), (Dims{16}));
  EXPECT_EQ(tensor_dims(TensorKind::FfnDown, c), (Dims{96, 64}));
  EXPECT_EQ(tensor_dims(TensorKind::AttnQkv, c), (Dims{64, 64 + 2 * 16}));
  c.head_dim = 32;  // wider heads than dim / heads: q and the output projection follow
  EXPECT_EQ(tensor_dims(TensorKind::AttnQ, c), (Dims{64, 128}));
  EXPECT_EQ(tensor_dims(TensorKind::AttnOutput, c), (Dims{128, 64}));
}

// A random model holds exactly the table's tensors for its configuration: Qwen2's separate
// projections with biases, Phi-3's fused ones and LongRoPE factors.
TEST(ModelTensors, RandomModelsHoldTheTablesTensors) {
  using K = TensorKind;
  ModelConfig phi3 = ModelConfig::new_model(Architecture::Phi3, 64, 2, 4, 2, 48, 300, 256, false);
  phi3.rope_orig_ctx = 64;
  phi3.sliding_window = 256;
  ModelConfig qwen3 = ModelConfig::new_model(Architecture::Qwen3, 64, 2, 4, 2, 48, 300, 256, true);
  qwen3.head_dim = qwen3.rope_dim = 32;  // q is 128 wide over a stream of 64
  ModelConfig gemma2 = ModelConfig::new_model(Architecture::Gemma2, 64, 2, 4, 2, 48, 300, 256, true);
  const ModelConfig olmo2 = ModelConfig::new_model(Architecture::Olmo2, 64, 2, 4, 2, 48, 300, 256, false);
  const ModelConfig starcoder2 = ModelConfig::new_model(Architecture::Starcoder2, 64, 2, 4, 2, 48, 300, 256, false);
  const std::vector<std::tuple<ModelConfig, std::vector<K>, std::vector<K>>> cases = {
      {ModelConfig::new_model(Architecture::Qwen2, 32, 2, 4, 2, 48, 300, 64, false),
       {K::TokenEmbedding, K::OutputNorm, K::Output},
       {K::AttnNorm, K::AttnQ, K::AttnK, K::AttnV, K::AttnQBias, K::AttnKBias, K::AttnVBias, K::AttnOutput,
        K::FfnNorm, K::FfnGate, K::FfnUp, K::FfnDown}},
      {phi3,
       {K::TokenEmbedding, K::OutputNorm, K::Output, K::RopeFactorsLong, K::RopeFactorsShort},
       {K::AttnNorm, K::AttnQkv, K::AttnOutput, K::FfnNorm, K::FfnUpWithGate, K::FfnDown}},
      {qwen3,
       {K::TokenEmbedding, K::OutputNorm},
       {K::AttnNorm, K::AttnQ, K::AttnK, K::AttnV, K::AttnQNorm, K::AttnKNorm, K::AttnOutput, K::FfnNorm, K::FfnGate,
        K::FfnUp, K::FfnDown}},
      {gemma2,
       {K::TokenEmbedding, K::OutputNorm},
       {K::AttnNorm, K::AttnQ, K::AttnK, K::AttnV, K::AttnOutput, K::AttnPostNorm, K::FfnNorm, K::FfnGate, K::FfnUp,
        K::FfnDown, K::FfnPostNorm}},
      {olmo2,
       {K::TokenEmbedding, K::OutputNorm, K::Output},
       {K::AttnQ, K::AttnK, K::AttnV, K::AttnQNormWhole, K::AttnKNormWhole, K::AttnOutput, K::AttnPostNorm, K::FfnGate,
        K::FfnUp, K::FfnDown, K::FfnPostNorm}},
      {starcoder2,
       {K::TokenEmbedding, K::OutputNorm, K::OutputNormBias, K::Output},
       {K::AttnNorm, K::AttnNormBias, K::AttnQ, K::AttnK, K::AttnV, K::AttnQBias, K::AttnKBias, K::AttnVBias,
        K::AttnOutput, K::AttnOutputBias, K::FfnNorm, K::FfnNormBias, K::FfnUp, K::FfnDown, K::FfnUpBias,
        K::FfnDownBias}},
  };
  for (const auto& [shape, model_kinds, layer_kinds] : cases) {
    SCOPED_TRACE(shape.arch_name);
    testing::TempDir dir;
    RandomModelOptions o;
    o.shape = shape;
    const std::string path = (dir / "m.gguf").string();
    write_random_model(o, path);
    const GgufFile f = GgufFile::open(path);
    size_t expected = 0;
    uint64_t learned = 0;  // what the configuration's parameter count counts (not RoPE's factors)
    auto expect = [&](K kind, int layer) {
      const std::string name = tensor_name(kind, layer);
      const GgufTensor* t = f.find_tensor(name);
      ASSERT_NE(t, nullptr) << name;
      EXPECT_EQ(t->dims, tensor_dims(kind, shape)) << name;
      ++expected;
      if (kind != K::RopeFactorsLong && kind != K::RopeFactorsShort) learned += static_cast<uint64_t>(t->elements());
    };
    for (K kind : model_kinds) expect(kind, -1);
    for (int l = 0; l < shape.n_layers; ++l)
      for (K kind : layer_kinds) expect(kind, l);
    EXPECT_EQ(f.tensors().size(), expected);
    EXPECT_EQ(shape.parameter_count(), learned);
    EXPECT_NO_THROW((void)Model::load(path));
  }
  EXPECT_EQ(tensor_dims(K::FfnUpWithGate, phi3), (std::vector<int64_t>{64, 96}));
  EXPECT_EQ(tensor_name(K::FfnUpWithGate, 1), "blk.1.ffn_up.weight");
  EXPECT_EQ(tensor_dims(K::AttnQ, qwen3), (std::vector<int64_t>{64, 128}));
  EXPECT_EQ(tensor_dims(K::AttnOutput, qwen3), (std::vector<int64_t>{128, 64}));
  EXPECT_EQ(tensor_dims(K::AttnKNorm, qwen3), (std::vector<int64_t>{32}));
  EXPECT_EQ(tensor_dims(K::AttnKNormWhole, olmo2), (std::vector<int64_t>{32}));  // 2 kv heads of 16
  EXPECT_EQ(tensor_name(K::AttnKNormWhole, 0), tensor_name(K::AttnKNorm, 0));
  EXPECT_EQ(tensor_dims(K::FfnUpBias, starcoder2), (std::vector<int64_t>{48}));
  EXPECT_EQ(tensor_name(K::OutputNormBias), "output_norm.bias");
}

}  // namespace
}  // namespace aded
