#include "model/model_metadata.h"

#include <cmath>
#include <string>

#include "aded/error.h"
#include "aded/model_tools.h"

namespace aded {

namespace {

// Keys under the architecture's prefix ("llama.context_length").
constexpr std::string_view kContextLength = "context_length";
constexpr std::string_view kEmbeddingLength = "embedding_length";
constexpr std::string_view kBlockCount = "block_count";
constexpr std::string_view kFeedForwardLength = "feed_forward_length";
constexpr std::string_view kHeadCount = "attention.head_count";
constexpr std::string_view kHeadCountKv = "attention.head_count_kv";
constexpr std::string_view kKeyLength = "attention.key_length";
constexpr std::string_view kValueLength = "attention.value_length";
constexpr std::string_view kRmsEpsilon = "attention.layer_norm_rms_epsilon";
constexpr std::string_view kLayerNormEpsilon = "attention.layer_norm_epsilon";
constexpr std::string_view kRopeFreqBase = "rope.freq_base";
constexpr std::string_view kRopeDimensionCount = "rope.dimension_count";
constexpr std::string_view kRopeScalingType = "rope.scaling.type";
constexpr std::string_view kRopeScalingFactor = "rope.scaling.factor";
constexpr std::string_view kRopeScaleLinear = "rope.scale_linear";  // older name of the factor
constexpr std::string_view kRopeAttnFactor = "rope.scaling.attn_factor";
constexpr std::string_view kRopeOrigContext = "rope.scaling.original_context_length";
constexpr std::string_view kSlidingWindow = "attention.sliding_window";
constexpr std::string_view kAttnSoftcap = "attn_logit_softcapping";
constexpr std::string_view kAttentionScale = "attention.scale";
constexpr std::string_view kEmbeddingScale = "embedding_scale";
constexpr std::string_view kResidualScale = "residual_scale";
constexpr std::string_view kLogitScale = "logit_scale";
constexpr std::string_view kFinalSoftcap = "final_logit_softcapping";
constexpr std::string_view kExpertCount = "expert_count";

std::string arch_key(std::string_view arch, std::string_view suffix) {
  return std::string(arch) + "." + std::string(suffix);
}

class ConfigReader {
 public:
  explicit ConfigReader(const GgufFile& f) : f_(f) {}

  ModelConfig read() {
    read_architecture();
    c_.dim = positive(kEmbeddingLength);
    c_.n_layers = positive(kBlockCount);
    c_.hidden_dim = positive(kFeedForwardLength);
    c_.n_heads = positive(kHeadCount);
    c_.n_kv_heads = positive(kHeadCountKv, static_cast<uint64_t>(c_.n_heads));
    c_.fill_conventions();  // the defaults of what follows
    read_heads();
    c_.ctx_train = positive(kContextLength, 2048);
    const std::string_view eps_key = c_.layer_norm() ? kLayerNormEpsilon : kRmsEpsilon;
    c_.norm_eps = static_cast<float>(f_.float_or(key(eps_key)).value_or(c_.norm_eps));
    if (!(c_.norm_eps > 0 && c_.norm_eps < 1))
      fail("{}: {} = {} is out of range (0 to 1)", f_.path(), key(eps_key), c_.norm_eps);
    c_.rope_base = static_cast<float>(f_.float_or(key(kRopeFreqBase)).value_or(c_.rope_base));
    // An infinite base leaves every pair but the first unrotated (base^-x = 0): no positions.
    if (!(c_.rope_base > 1) || !std::isfinite(c_.rope_base))
      fail("{}: {} = {} is out of range (a finite number > 1)", f_.path(), key(kRopeFreqBase),
           c_.rope_base);
    c_.rope_dim = positive(kRopeDimensionCount, static_cast<uint64_t>(c_.head_dim));
    if (c_.rope_dim > c_.head_dim || c_.rope_dim % 2 != 0)
      fail("{}: rope.dimension_count {} does not fit head size {}", f_.path(), c_.rope_dim,
           c_.head_dim);
    read_rope_scaling();
    if (c_.arch == Architecture::Phi3) read_phi3();
    if (c_.gemma2()) read_gemma2();
    if (c_.arch == Architecture::Granite) read_granite();
    return c_;
  }

 private:
  std::string key(std::string_view suffix) const { return arch_key(c_.arch_name, suffix); }

  int positive(std::string_view suffix, std::optional<uint64_t> fallback = std::nullopt) const {
    auto v = f_.uint_or(key(suffix));
    if (!v) v = fallback;
    if (!v) fail("{}: missing metadata '{}'", f_.path(), key(suffix));
    if (*v == 0 || *v > (1u << 24))
      fail("{}: metadata '{}' = {} is out of range", f_.path(), key(suffix), *v);
    return static_cast<int>(*v);
  }

  void read_architecture() {
    c_.arch_name = std::string(f_.get_string(kArchitectureKey));
    const auto arch = architecture_from_name(c_.arch_name);
    if (!arch)
      fail("{}: unsupported architecture '{}' (supported: llama, qwen2, phi3, qwen3, gemma2, granite, olmo2, starcoder2)", f_.path(), c_.arch_name);
    c_.arch = *arch;
    if (f_.find(key(kExpertCount)) && f_.uint_or(key(kExpertCount)).value_or(0) > 0)
      fail("{}: mixture-of-experts models are not supported", f_.path());
  }

  void read_heads() {
    if (c_.n_heads % c_.n_kv_heads != 0)
      fail("{}: head_count {} is not a multiple of head_count_kv {}", f_.path(), c_.n_heads,
           c_.n_kv_heads);
    if (c_.dim % c_.n_heads != 0 && !f_.find(key(kKeyLength)))
      fail("{}: embedding_length {} is not a multiple of head_count {}", f_.path(), c_.dim,
           c_.n_heads);
    c_.head_dim = positive(kKeyLength, static_cast<uint64_t>(c_.head_dim));
    // Checked before q_dim() multiplies them, in int.
    if (static_cast<int64_t>(c_.n_heads) * c_.head_dim > (1 << 24))
      fail("{}: attention of {} heads of size {} is too large", f_.path(), c_.n_heads, c_.head_dim);
    if (f_.find(key(kValueLength)) && positive(kValueLength) != c_.head_dim)
      fail("{}: different key and value head sizes are not supported", f_.path());
    if (c_.head_dim % 2 != 0) fail("{}: head size {} is odd", f_.path(), c_.head_dim);
  }

  void read_rope_scaling() {
    const auto type = f_.string_or(key(kRopeScalingType)).value_or("none");
    double factor = f_.float_or(key(kRopeScalingFactor)).value_or(1.0);
    if (auto legacy = f_.float_or(key(kRopeScaleLinear))) factor = *legacy;
    // cos/sin scaling (LongRoPE's, or YaRN's on top of its own), as llama.cpp reads it for any model.
    const double attn_factor = f_.float_or(key(kRopeAttnFactor)).value_or(1.0);
    if (!(attn_factor > 0 && attn_factor < 16))
      fail("{}: {} = {} is out of range (0 to 16)", f_.path(), key(kRopeAttnFactor), attn_factor);
    c_.rope_attn_factor = static_cast<float>(attn_factor);
    if (type == "none" || factor == 1.0) return;
    if (type != "linear" && type != "yarn")
      fail("{}: RoPE scaling '{}' is not supported (supported: none, linear, yarn)", f_.path(), type);
    if (!(factor > 0 && factor < 1024))
      fail("{}: RoPE scaling factor {} is out of range", f_.path(), factor);
    c_.rope_scale = static_cast<float>(factor);
    if (type == "yarn") {
      if (factor < 1) fail("{}: YaRN factor {} is below 1 (it extends a context)", f_.path(), factor);
      c_.rope_yarn = true;
      c_.rope_orig_ctx = positive(kRopeOrigContext, static_cast<uint64_t>(c_.ctx_train));
    }
  }

  // Gemma 2: soft-capping and the window of its even layers (defaults: the published values, as
  // llama.cpp assumes). Gemma-2-27B divides scores by sqrt(dim / heads), not sqrt(head size).
  void read_gemma2() {
    auto cap = [&](std::string_view suffix, float& value) {
      const double v = f_.float_or(key(suffix)).value_or(value);
      if (!(v >= 0 && v < 1e4)) fail("{}: {} = {} is out of range (0 to 10000)", f_.path(), key(suffix), v);
      value = static_cast<float>(v);
    };
    cap(kAttnSoftcap, c_.attn_softcap);
    cap(kFinalSoftcap, c_.final_softcap);
    c_.sliding_window = positive(kSlidingWindow, static_cast<uint64_t>(c_.sliding_window));
    if (c_.n_layers == 46) c_.attn_scale = 1.0f / std::sqrt(static_cast<float>(c_.dim / c_.n_heads));
  }

  // Granite's four multipliers (llama.cpp requires them all).
  void read_granite() {
    auto scale = [&](std::string_view suffix, float& value) {
      const auto v = f_.float_or(key(suffix));
      if (!v) fail("{}: missing metadata '{}'", f_.path(), key(suffix));
      if (!(*v > 0 && *v < 1e6)) fail("{}: {} = {} is out of range (0 to 1e6)", f_.path(), key(suffix), *v);
      value = static_cast<float>(*v);
    };
    scale(kAttentionScale, c_.attn_scale);
    scale(kEmbeddingScale, c_.embedding_scale);
    scale(kResidualScale, c_.residual_scale);
    scale(kLogitScale, c_.logit_scale);
  }

  // Phi-3's sliding window and LongRoPE. Files converted before the window was written get the
  // value their family was trained with, as llama.cpp assumes (4k models: 2047; mini-128k: 262144;
  // medium-128k: 131072).
  void read_phi3() {
    if (const auto window = f_.uint_or(key(kSlidingWindow))) {
      if (*window > (1u << 24)) fail("{}: {} = {} is out of range", f_.path(), key(kSlidingWindow), *window);
      c_.sliding_window = static_cast<int>(*window);
    } else if ((c_.n_layers == 32 || c_.n_layers == 40) && c_.ctx_train == 4096) {
      c_.sliding_window = 2047;
    } else if (c_.n_layers == 32 && c_.n_kv_heads == 32 && c_.ctx_train == 131072) {
      c_.sliding_window = 262144;
    } else if (c_.n_layers == 40 && c_.ctx_train == 131072) {
      c_.sliding_window = 131072;
    } else {
      fail("{}: missing metadata '{}' (this Phi-3 shape has no known default)", f_.path(), key(kSlidingWindow));
    }
    c_.rope_orig_ctx = positive(kRopeOrigContext, static_cast<uint64_t>(c_.ctx_train));
  }

  const GgufFile& f_;
  ModelConfig c_;
};

}  // namespace

ModelConfig read_model_config(const GgufFile& file) {
  return ConfigReader(file).read();
}

void write_model_config(GgufWriter& w, const ModelConfig& c, std::string_view name,
                        TensorType file_type) {
  const std::string_view arch = architecture_name(c.arch);
  auto u32 = [&](std::string_view suffix, int value) {
    w.set_u32(arch_key(arch, suffix), static_cast<uint32_t>(value));
  };
  w.set_string(kArchitectureKey, std::string(arch));
  w.set_string(kModelNameKey, std::string(name));
  w.set_u32(kFileTypeKey, file_type_code(file_type));
  u32(kContextLength, c.ctx_train);
  u32(kEmbeddingLength, c.dim);
  u32(kBlockCount, c.n_layers);
  u32(kFeedForwardLength, c.hidden_dim);
  u32(kHeadCount, c.n_heads);
  u32(kHeadCountKv, c.n_kv_heads);
  if (c.head_dim * c.n_heads != c.dim) {  // not the size a reader assumes
    u32(kKeyLength, c.head_dim);
    u32(kValueLength, c.head_dim);
  }
  w.set_f32(arch_key(arch, c.layer_norm() ? kLayerNormEpsilon : kRmsEpsilon), c.norm_eps);
  u32(kRopeDimensionCount, c.rope_dim);
  w.set_f32(arch_key(arch, kRopeFreqBase), c.rope_base);
  if (c.rope_scale != 1.0f) {
    w.set_string(arch_key(arch, kRopeScalingType), c.rope_yarn ? "yarn" : "linear");
    w.set_f32(arch_key(arch, kRopeScalingFactor), c.rope_scale);
    if (c.rope_yarn) u32(kRopeOrigContext, c.rope_orig_ctx);
  }
  if (c.rope_attn_factor != 1.0f) w.set_f32(arch_key(arch, kRopeAttnFactor), c.rope_attn_factor);
  if (c.gemma2()) {
    u32(kSlidingWindow, c.sliding_window);
    w.set_f32(arch_key(arch, kAttnSoftcap), c.attn_softcap);
    w.set_f32(arch_key(arch, kFinalSoftcap), c.final_softcap);
  }
  if (c.arch == Architecture::Granite) {
    w.set_f32(arch_key(arch, kAttentionScale), c.attn_scale);
    w.set_f32(arch_key(arch, kEmbeddingScale), c.embedding_scale);
    w.set_f32(arch_key(arch, kResidualScale), c.residual_scale);
    w.set_f32(arch_key(arch, kLogitScale), c.logit_scale);
  }
  if (c.arch == Architecture::Phi3) {
    u32(kSlidingWindow, c.sliding_window);
    if (c.rope_orig_ctx > 0 && !c.rope_yarn) u32(kRopeOrigContext, c.rope_orig_ctx);
  }
}

uint32_t file_type_code(TensorType type) {
  switch (type) {
    case TensorType::F32: return 0;
    case TensorType::F16: return 1;
    case TensorType::Q4_0: return 2;
    case TensorType::Q4_1: return 3;
    case TensorType::Q8_0: return 7;
    case TensorType::Q5_0: return 8;
    case TensorType::Q5_1: return 9;
    case TensorType::Q4_K: return 15;
    case TensorType::Q5_K: return 17;
    case TensorType::Q6_K: return 18;
    case TensorType::BF16: return 32;
    default: return 0;
  }
}

}  // namespace aded
