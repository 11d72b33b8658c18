#include "model/model_tensors.h"

#include <initializer_list>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>

namespace aded {

namespace {

// The sizes tensor dims are made of.
enum class Size { None, Dim, HeadDim, QDim, KvDim, QkvDim, Hidden, TwoHidden, Vocab, HalfRopeDim };

int64_t size_of(Size s, const ModelConfig& c) {
  switch (s) {
    case Size::None: return 0;
    case Size::Dim: return c.dim;
    case Size::HeadDim: return c.head_dim;
    case Size::QDim: return c.q_dim();
    case Size::KvDim: return c.kv_dim();
    case Size::QkvDim: return c.qkv_dim();
    case Size::Hidden: return c.hidden_dim;
    case Size::TwoHidden: return 2 * int64_t{c.hidden_dim};
    case Size::Vocab: return c.n_vocab;
    case Size::HalfRopeDim: return c.rope_dim / 2;
  }
  throw std::logic_error("unknown tensor size");
}

struct Entry {
  std::string_view name;
  bool per_layer;
  Size cols;
  Size rows;  // None for a vector
};

// A switch, not an array, so that the compiler checks every kind has its entry.
Entry entry(TensorKind kind) {
  switch (kind) {
    case TensorKind::TokenEmbedding: return {"token_embd.weight", false, Size::Dim, Size::Vocab};
    case TensorKind::OutputNorm: return {"output_norm.weight", false, Size::Dim, Size::None};
    case TensorKind::Output: return {"output.weight", false, Size::Dim, Size::Vocab};
    case TensorKind::RopeFreqs: return {"rope_freqs.weight", false, Size::HalfRopeDim, Size::None};
    case TensorKind::RopeFactorsLong: return {"rope_factors_long.weight", false, Size::HalfRopeDim, Size::None};
    case TensorKind::RopeFactorsShort: return {"rope_factors_short.weight", false, Size::HalfRopeDim, Size::None};
    case TensorKind::AttnNorm: return {"attn_norm.weight", true, Size::Dim, Size::None};
    case TensorKind::AttnQ: return {"attn_q.weight", true, Size::Dim, Size::QDim};
    case TensorKind::AttnK: return {"attn_k.weight", true, Size::Dim, Size::KvDim};
    case TensorKind::AttnV: return {"attn_v.weight", true, Size::Dim, Size::KvDim};
    case TensorKind::AttnQBias: return {"attn_q.bias", true, Size::QDim, Size::None};
    case TensorKind::AttnKBias: return {"attn_k.bias", true, Size::KvDim, Size::None};
    case TensorKind::AttnVBias: return {"attn_v.bias", true, Size::KvDim, Size::None};
    case TensorKind::AttnQNorm: return {"attn_q_norm.weight", true, Size::HeadDim, Size::None};
    case TensorKind::AttnKNorm: return {"attn_k_norm.weight", true, Size::HeadDim, Size::None};
    case TensorKind::AttnQNormWhole: return {"attn_q_norm.weight", true, Size::QDim, Size::None};
    case TensorKind::AttnKNormWhole: return {"attn_k_norm.weight", true, Size::KvDim, Size::None};
    case TensorKind::AttnOutput: return {"attn_output.weight", true, Size::QDim, Size::Dim};
    case TensorKind::AttnPostNorm: return {"post_attention_norm.weight", true, Size::Dim, Size::None};
    case TensorKind::FfnPostNorm: return {"post_ffw_norm.weight", true, Size::Dim, Size::None};
    case TensorKind::FfnNorm: return {"ffn_norm.weight", true, Size::Dim, Size::None};
    case TensorKind::FfnGate: return {"ffn_gate.weight", true, Size::Dim, Size::Hidden};
    case TensorKind::FfnUp: return {"ffn_up.weight", true, Size::Dim, Size::Hidden};
    case TensorKind::FfnDown: return {"ffn_down.weight", true, Size::Hidden, Size::Dim};
    case TensorKind::OutputNormBias: return {"output_norm.bias", false, Size::Dim, Size::None};
    case TensorKind::AttnNormBias: return {"attn_norm.bias", true, Size::Dim, Size::None};
    case TensorKind::AttnOutputBias: return {"attn_output.bias", true, Size::Dim, Size::None};
    case TensorKind::FfnNormBias: return {"ffn_norm.bias", true, Size::Dim, Size::None};
    case TensorKind::FfnUpBias: return {"ffn_up.bias", true, Size::Hidden, Size::None};
    case TensorKind::FfnDownBias: return {"ffn_down.bias", true, Size::Dim, Size::None};
    case TensorKind::AttnQkv: return {"attn_qkv.weight", true, Size::Dim, Size::QkvDim};
    case TensorKind::FfnUpWithGate: return {"ffn_up.weight", true, Size::Dim, Size::TwoHidden};
    case TensorKind::FfnGateUp: return {"ffn_gate_up.weight", true, Size::Dim, Size::TwoHidden};
  }
  throw std::logic_error("unknown tensor kind");
}

}  // namespace

bool is_layer_tensor(TensorKind kind) {
  return entry(kind).per_layer;
}

std::string tensor_name(TensorKind kind, int layer) {
  const Entry e = entry(kind);
  if (e.per_layer != (layer >= 0))
    throw std::logic_error(fmt::format("tensor_name: '{}' with layer {}", e.name, layer));
  if (!e.per_layer) return std::string(e.name);
  return fmt::format("blk.{}.{}", layer, e.name);
}

std::vector<TensorKind> layer_tensor_kinds(const ModelConfig& c) {
  using K = TensorKind;
  if (c.fused_projections()) return {K::AttnNorm, K::AttnQkv, K::AttnOutput, K::FfnNorm, K::FfnUpWithGate, K::FfnDown};
  std::vector<TensorKind> kinds;
  // push_back, not insert of a list: GCC 12 warns wrongly (-Warray-bounds) about the latter.
  const auto add = [&kinds](bool when, std::initializer_list<TensorKind> these) {
    if (when)
      for (TensorKind k : these) kinds.push_back(k);
  };
  add(c.pre_norms(), {K::AttnNorm});
  add(c.layer_norm(), {K::AttnNormBias});
  add(true, {K::AttnQ, K::AttnK, K::AttnV});
  add(c.qkv_bias, {K::AttnQBias, K::AttnKBias, K::AttnVBias});
  add(c.qk_norm(), {K::AttnQNorm, K::AttnKNorm});
  add(c.qk_norm_whole(), {K::AttnQNormWhole, K::AttnKNormWhole});
  add(true, {K::AttnOutput});
  add(c.block_biases(), {K::AttnOutputBias});
  add(c.post_norms(), {K::AttnPostNorm});
  add(c.pre_norms(), {K::FfnNorm});
  add(c.layer_norm(), {K::FfnNormBias});
  add(c.gated_ffn(), {K::FfnGate});
  add(true, {K::FfnUp, K::FfnDown});
  add(c.block_biases(), {K::FfnUpBias, K::FfnDownBias});
  add(c.post_norms(), {K::FfnPostNorm});
  return kinds;
}

std::vector<int64_t> tensor_dims(TensorKind kind, const ModelConfig& config) {
  const Entry e = entry(kind);
  if (e.rows == Size::None) return {size_of(e.cols, config)};
  return {size_of(e.cols, config), size_of(e.rows, config)};
}

}  // namespace aded
