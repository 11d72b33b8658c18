// Reads a Llama-family model from GGUF: the configuration from {arch}.* metadata, then every
// tensor, checking names, shapes and types against that configuration.
#include <algorithm>
#include <cmath>

#include "aded/error.h"
#include "aded/model.h"
#include "core/quant/quant.h"

namespace aded {

class ModelLoader {
 public:
  explicit ModelLoader(Model& m) : m_(m), f_(m.file_), c_(m.config_) {}

  void run() {
    read_config();
    load_tensors();
    m_.tokenizer_ = Tokenizer::from_gguf(f_);
    if (m_.tokenizer_->size() != c_.n_vocab)
      fail("{}: the tokenizer has {} tokens but token_embd.weight has {} rows", f_.path(),
           m_.tokenizer_->size(), c_.n_vocab);
  }

 private:
  std::string key(std::string_view suffix) const { return c_.arch_name + "." + std::string(suffix); }

  int positive(std::string_view suffix, std::optional<uint64_t> fallback = std::nullopt) const {
    auto v = f_.uint_or(key(suffix));
    if (!v) v = fallback;
    if (!v) fail("{}: missing metadata '{}'", f_.path(), key(suffix));
    if (*v == 0 || *v > (1u << 24)) fail("{}: metadata '{}' = {} is out of range", f_.path(), key(suffix), *v);
    return static_cast<int>(*v);
  }

  void read_config() {
    c_.arch_name = std::string(f_.get_string("general.architecture"));
    if (c_.arch_name == "llama") {
      c_.arch = Architecture::Llama;
    } else if (c_.arch_name == "qwen2") {
      c_.arch = Architecture::Qwen2;
    } else {
      fail("{}: unsupported architecture '{}' (supported: llama, qwen2)", f_.path(), c_.arch_name);
    }
    if (f_.find(key("expert_count")) && f_.uint_or(key("expert_count")).value_or(0) > 0)
      fail("{}: mixture-of-experts models are not supported", f_.path());
    c_.dim = positive("embedding_length");
    c_.n_layers = positive("block_count");
    c_.hidden_dim = positive("feed_forward_length");
    c_.n_heads = positive("attention.head_count");
    c_.n_kv_heads = positive("attention.head_count_kv", static_cast<uint64_t>(c_.n_heads));
    if (c_.n_heads % c_.n_kv_heads != 0)
      fail("{}: head_count {} is not a multiple of head_count_kv {}", f_.path(), c_.n_heads, c_.n_kv_heads);
    if (c_.dim % c_.n_heads != 0 && !f_.find(key("attention.key_length")))
      fail("{}: embedding_length {} is not a multiple of head_count {}", f_.path(), c_.dim, c_.n_heads);
    c_.head_dim = positive("attention.key_length", static_cast<uint64_t>(c_.dim / c_.n_heads));
    // Checked before q_dim() multiplies them, in int.
    if (static_cast<int64_t>(c_.n_heads) * c_.head_dim > (1 << 24))
      fail("{}: attention of {} heads of size {} is too large", f_.path(), c_.n_heads, c_.head_dim);
    if (f_.find(key("attention.value_length")) && positive("attention.value_length") != c_.head_dim)
      fail("{}: different key and value head sizes are not supported", f_.path());
    if (c_.head_dim % 2 != 0) fail("{}: head size {} is odd", f_.path(), c_.head_dim);
    c_.ctx_train = positive("context_length", 2048);
    const double default_eps = c_.arch == Architecture::Qwen2 ? 1e-6 : 1e-5;
    c_.norm_eps = static_cast<float>(f_.float_or(key("attention.layer_norm_rms_epsilon")).value_or(default_eps));
    if (!(c_.norm_eps > 0 && c_.norm_eps < 1)) fail("{}: RMSNorm epsilon {} is out of range", f_.path(), c_.norm_eps);
    c_.rope_base = static_cast<float>(f_.float_or(key("rope.freq_base")).value_or(10000.0));
    if (!(c_.rope_base > 1)) fail("{}: rope.freq_base {} is out of range", f_.path(), c_.rope_base);
    c_.rope_dim = positive("rope.dimension_count", static_cast<uint64_t>(c_.head_dim));
    if (c_.rope_dim > c_.head_dim || c_.rope_dim % 2 != 0)
      fail("{}: rope.dimension_count {} does not fit head size {}", f_.path(), c_.rope_dim, c_.head_dim);
    read_rope_scaling();
    c_.rope_layout = c_.arch == Architecture::Qwen2 ? RopeLayout::HalfSplit : RopeLayout::Adjacent;
    c_.qkv_bias = c_.arch == Architecture::Qwen2;
  }

  void read_rope_scaling() {
    const auto type = f_.string_or(key("rope.scaling.type")).value_or("none");
    double factor = f_.float_or(key("rope.scaling.factor")).value_or(1.0);
    if (auto legacy = f_.float_or(key("rope.scale_linear"))) factor = *legacy;
    if (type == "none" || factor == 1.0) return;
    if (type != "linear")
      fail("{}: RoPE scaling '{}' is not supported (supported: none, linear)", f_.path(), type);
    if (!(factor > 0 && factor < 1024)) fail("{}: RoPE scaling factor {} is out of range", f_.path(), factor);
    c_.rope_scale = static_cast<float>(factor);
  }

  const GgufTensor& tensor(const std::string& name) const {
    const GgufTensor* t = f_.find_tensor(name);
    if (!t) fail("{}: missing tensor '{}'", f_.path(), name);
    return *t;
  }

  static std::string shape(const std::vector<int64_t>& dims) {
    std::string s = "[";
    for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
    return s + "]";
  }

  void expect_shape(const GgufTensor& t, std::vector<int64_t> dims) const {
    if (t.dims != dims)
      fail("{}: tensor '{}' has shape {}, expected {} for this configuration", f_.path(), t.name,
           shape(t.dims), shape(dims));
  }

  Matrix matrix(const std::string& name, int64_t cols, int64_t rows) const {
    const GgufTensor& t = tensor(name);
    expect_shape(t, {cols, rows});
    if (!tensor_type_info(t.type).can_compute)
      fail("{}: tensor '{}' has type {}, which this engine cannot compute with (supported: F32, F16, "
           "BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K)",
           f_.path(), name, tensor_type_name(t.type));
    return {name, t.type, t.data, rows, cols, t.nbytes / static_cast<size_t>(rows)};
  }

  std::vector<float> vector(const std::string& name, int64_t n) const {
    const GgufTensor& t = tensor(name);
    expect_shape(t, {n});
    if (!tensor_type_info(t.type).can_compute)
      fail("{}: tensor '{}' has unsupported type {}", f_.path(), name, tensor_type_name(t.type));
    std::vector<float> out(static_cast<size_t>(n));
    quant::dequantize_row(t.type, t.data, out.data(), n);
    for (float v : out)
      if (!std::isfinite(v)) fail("{}: tensor '{}' contains a non-finite value", f_.path(), name);
    return out;
  }

  void load_tensors() {
    const GgufTensor& embd = tensor("token_embd.weight");
    if (embd.dims.size() != 2 || embd.dims[0] != c_.dim)
      fail("{}: tensor 'token_embd.weight' has shape {}, expected [{}, vocab]", f_.path(), shape(embd.dims), c_.dim);
    c_.n_vocab = static_cast<int>(embd.dims[1]);
    m_.token_embd_ = matrix("token_embd.weight", c_.dim, c_.n_vocab);
    m_.output_norm_ = vector("output_norm.weight", c_.dim);
    if (f_.find_tensor("output.weight")) {
      m_.output_ = matrix("output.weight", c_.dim, c_.n_vocab);
    } else {
      m_.output_ = m_.token_embd_;
      c_.tied_output = true;
    }
    if (f_.find_tensor("rope_freqs.weight")) m_.rope_freqs_ = vector("rope_freqs.weight", c_.rope_dim / 2);
    // Layers are added as they load: block_count comes from the file, and reserving it up front
    // would let a tiny file claim millions of layers' worth of memory.
    for (int i = 0; i < c_.n_layers; ++i) {
      const std::string p = "blk." + std::to_string(i) + ".";
      LayerWeights& l = m_.layers_.emplace_back();
      l.attn_norm = vector(p + "attn_norm.weight", c_.dim);
      l.wq = matrix(p + "attn_q.weight", c_.dim, c_.q_dim());
      l.wk = matrix(p + "attn_k.weight", c_.dim, c_.kv_dim());
      l.wv = matrix(p + "attn_v.weight", c_.dim, c_.kv_dim());
      l.wo = matrix(p + "attn_output.weight", c_.q_dim(), c_.dim);
      if (c_.qkv_bias) {
        l.bq = vector(p + "attn_q.bias", c_.q_dim());
        l.bk = vector(p + "attn_k.bias", c_.kv_dim());
        l.bv = vector(p + "attn_v.bias", c_.kv_dim());
      }
      l.ffn_norm = vector(p + "ffn_norm.weight", c_.dim);
      l.w_gate = matrix(p + "ffn_gate.weight", c_.dim, c_.hidden_dim);
      l.w_up = matrix(p + "ffn_up.weight", c_.dim, c_.hidden_dim);
      l.w_down = matrix(p + "ffn_down.weight", c_.hidden_dim, c_.dim);
    }
  }

  Model& m_;
  const GgufFile& f_;
  ModelConfig& c_;
};

std::shared_ptr<const Model> Model::load(const std::string& path) { return from_gguf(GgufFile::open(path)); }

std::shared_ptr<const Model> Model::from_gguf(GgufFile file) {
  std::shared_ptr<Model> m(new Model());
  m->file_ = std::move(file);
  m->packed_ = new_packed_state();
  ModelLoader(*m).run();
  return m;
}

TensorType Model::main_type() const {
  return layers_.empty() ? token_embd_.type : layers_[0].w_gate.type;
}

uint64_t Model::weight_bytes_per_token() const {
  uint64_t bytes = static_cast<uint64_t>(output_.row_bytes) * static_cast<uint64_t>(output_.rows);
  for (const auto& l : layers_) {
    for (const Matrix* w : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down})
      bytes += static_cast<uint64_t>(w->row_bytes) * static_cast<uint64_t>(w->rows);
  }
  return bytes;
}

uint64_t Model::parameter_count() const {
  uint64_t n = 0;
  for (const auto& t : file_.tensors()) n += static_cast<uint64_t>(t.elements());
  return n;
}

}  // namespace aded
