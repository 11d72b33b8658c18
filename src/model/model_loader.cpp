// Reads a Llama-family model from GGUF: the configuration from its metadata (model_metadata.h),
// then every tensor, checking names, shapes and types against that configuration.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "aded/error.h"
#include "aded/model.h"
#include "core/kernels/packing.h"
#include "core/quant/quant.h"
#include "gguf/gguf_keys.h"
#include "model/model_metadata.h"
#include "model/model_tensors.h"

namespace aded {

class ModelLoader {
 public:
  explicit ModelLoader(Model& m) : m_(m), f_(m.file_), c_(m.config_) {}

  void run() {
    c_ = read_model_config(f_);
    load_tensors();
    refuse_unused_tensors();
    m_.tokenizer_ = Tokenizer::from_gguf(f_);
    if (m_.tokenizer_->size() != c_.n_vocab)
      fail("{}: the tokenizer has {} tokens but {} has {} rows", f_.path(), m_.tokenizer_->size(),
           tensor_name(TensorKind::TokenEmbedding), c_.n_vocab);
  }

 private:
  const GgufTensor& tensor(const std::string& name) {
    const GgufTensor* t = f_.find_tensor(name);
    if (!t) fail("{}: missing tensor '{}'", f_.path(), name);
    used_.insert(t);
    return *t;
  }

  // A tensor the forward pass would not read means the metadata describes another model than the
  // file holds (block_count smaller than its layers, another architecture's norms or biases):
  // running without it could only give garbage.
  void refuse_unused_tensors() const {
    for (const GgufTensor& t : f_.tensors()) {
      if (used_.count(&t)) continue;
      int layer = -1;
      if (std::sscanf(t.name.c_str(), "blk.%d.", &layer) == 1 && layer >= c_.n_layers)
        fail("{}: the file holds tensor '{}' of layer {}, but its metadata says {} layers "
             "({}.block_count): the metadata does not describe these weights",
             f_.path(), t.name, layer, c_.n_layers, c_.arch_name);
      fail("{}: tensor '{}' is not part of a {} model{}: this engine would ignore it and compute "
           "something else than the model",
           f_.path(), t.name, c_.arch_name, c_.qkv_bias ? "" : " without q/k/v biases");
    }
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

  // A weight matrix of the dims the table gives this kind of tensor.
  Matrix matrix(const std::string& name, TensorKind kind) {
    const GgufTensor& t = tensor(name);
    const std::vector<int64_t> dims = tensor_dims(kind, c_);
    expect_shape(t, dims);
    if (!tensor_type_info(t.type).can_compute)
      fail("{}: tensor '{}' has type {}, which this engine cannot compute with (supported: F32, F16, "
           "BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K)",
           f_.path(), name, tensor_type_name(t.type));
    const int64_t cols = dims[0], rows = dims[1];
    if (!t.packed) return {name, t.type, t.data, rows, cols, t.nbytes / static_cast<size_t>(rows)};
    // Already in the kernels' layout (aded repack): used where it is mapped, without a copy.
    if (kind == TensorKind::TokenEmbedding)
      fail("{}: tensor '{}' is packed, but the token embedding is read row by row: repack the "
           "original file with this build's aded repack",
           f_.path(), name);
    if (reinterpret_cast<uintptr_t>(t.data) % 64 != 0)
      fail("{}: packed tensor '{}' is not 64-byte aligned in the file ({} is {}): repack the original "
           "file with this build's aded repack",
           f_.path(), name, kAlignmentKey, f_.alignment());
    Matrix m{name, t.type, nullptr, rows, cols, *row_bytes(t.type, cols)};
    m.packed = t.data;
    return m;
  }

  std::vector<float> vector(const std::string& name, TensorKind kind) {
    const GgufTensor& t = tensor(name);
    const std::vector<int64_t> dims = tensor_dims(kind, c_);
    expect_shape(t, dims);
    if (!tensor_type_info(t.type).can_compute)
      fail("{}: tensor '{}' has unsupported type {}", f_.path(), name, tensor_type_name(t.type));
    std::vector<float> out(static_cast<size_t>(dims[0]));
    quant::dequantize_row(t.type, t.data, out.data(), dims[0]);
    for (float v : out)
      if (!std::isfinite(v)) fail("{}: tensor '{}' contains a non-finite value", f_.path(), name);
    return out;
  }

  // RoPE divides each pair's frequency by its factor (Llama 3.1: 1 to 8). Zero or negative
  // factors give infinite or reversed angles; below 1e-6 a position turns a pair by more than a
  // million radians. Either way the positions the model was trained with are lost.
  std::vector<float> rope_freq_factors(const std::string& name, TensorKind kind = TensorKind::RopeFreqs) {
    std::vector<float> factors = vector(name, kind);
    for (size_t i = 0; i < factors.size(); ++i)
      if (!(factors[i] >= 1e-6f))
        fail("{}: tensor '{}' has factor {} at {}: RoPE frequency factors must be positive "
             "divisors (at least 1e-6)",
             f_.path(), name, factors[i], i);
    return factors;
  }

  void load_tensors() {
    const std::string embd_name = tensor_name(TensorKind::TokenEmbedding);
    const GgufTensor& embd = tensor(embd_name);
    if (embd.dims.size() != 2 || embd.dims[0] != c_.dim)
      fail("{}: tensor '{}' has shape {}, expected [{}, vocab]", f_.path(), embd_name,
           shape(embd.dims), c_.dim);
    c_.n_vocab = static_cast<int>(embd.dims[1]);
    m_.token_embd_ = matrix(embd_name, TensorKind::TokenEmbedding);
    const std::string norm_name = tensor_name(TensorKind::OutputNorm);
    m_.output_norm_ = vector(norm_name, TensorKind::OutputNorm);
    if (c_.layer_norm()) m_.output_norm_b_ = vector(tensor_name(TensorKind::OutputNormBias), TensorKind::OutputNormBias);
    // An output norm of zeros makes every logit 0, whatever the text: greedy decoding would write
    // token 0 (often "<unk>") for ever.
    if (std::all_of(m_.output_norm_.begin(), m_.output_norm_.end(), [](float v) { return v == 0; }))
      fail("{}: tensor '{}' is all zeros: every logit would be 0", f_.path(), norm_name);
    if (const std::string output = tensor_name(TensorKind::Output); f_.find_tensor(output)) {
      m_.output_ = matrix(output, TensorKind::Output);
    } else {
      m_.output_ = m_.token_embd_;
      c_.tied_output = true;
    }
    if (const std::string freqs = tensor_name(TensorKind::RopeFreqs); f_.find_tensor(freqs))
      m_.rope_freqs_ = rope_freq_factors(freqs);
    if (c_.arch == Architecture::Phi3) load_long_rope();
    // Layers are added as they load: block_count comes from the file, and reserving it up front
    // would let a tiny file claim millions of layers' worth of memory.
    for (int i = 0; i < c_.n_layers; ++i) {
      auto matrix_of = [&](TensorKind kind) { return matrix(tensor_name(kind, i), kind); };
      auto vector_of = [&](TensorKind kind) { return vector(tensor_name(kind, i), kind); };
      LayerWeights& l = m_.layers_.emplace_back();
      if (c_.pre_norms()) l.attn_norm = vector_of(TensorKind::AttnNorm);
      if (c_.layer_norm()) {
        l.attn_norm_b = vector_of(TensorKind::AttnNormBias);
        l.ffn_norm_b = vector_of(TensorKind::FfnNormBias);
      }
      if (c_.block_biases()) {
        l.bo = vector_of(TensorKind::AttnOutputBias);
        l.b_up = vector_of(TensorKind::FfnUpBias);
        l.b_down = vector_of(TensorKind::FfnDownBias);
      }
      if (c_.fused_projections()) {
        const Matrix qkv = matrix_of(TensorKind::AttnQkv);
        l.wq = rows_of(qkv, 0, c_.q_dim());
        l.wk = rows_of(qkv, c_.q_dim(), c_.kv_dim());
        l.wv = rows_of(qkv, c_.q_dim() + c_.kv_dim(), c_.kv_dim());
      } else {
        l.wq = matrix_of(TensorKind::AttnQ);
        l.wk = matrix_of(TensorKind::AttnK);
        l.wv = matrix_of(TensorKind::AttnV);
      }
      l.wo = matrix_of(TensorKind::AttnOutput);
      if (c_.post_norms()) {
        l.attn_post_norm = vector_of(TensorKind::AttnPostNorm);
        l.ffn_post_norm = vector_of(TensorKind::FfnPostNorm);
      }
      if (c_.qkv_bias) {
        l.bq = vector_of(TensorKind::AttnQBias);
        l.bk = vector_of(TensorKind::AttnKBias);
        l.bv = vector_of(TensorKind::AttnVBias);
      }
      if (c_.qk_norm()) {
        l.q_norm = vector_of(TensorKind::AttnQNorm);
        l.k_norm = vector_of(TensorKind::AttnKNorm);
      }
      if (c_.qk_norm_whole()) {
        l.q_norm = vector_of(TensorKind::AttnQNormWhole);
        l.k_norm = vector_of(TensorKind::AttnKNormWhole);
      }
      if (c_.pre_norms()) l.ffn_norm = vector_of(TensorKind::FfnNorm);
      if (c_.fused_projections()) {
        const Matrix gate_up = matrix_of(TensorKind::FfnUpWithGate);
        l.w_gate = rows_of(gate_up, 0, c_.hidden_dim);
        l.w_up = rows_of(gate_up, c_.hidden_dim, c_.hidden_dim);
      } else {
        if (c_.gated_ffn()) l.w_gate = matrix_of(TensorKind::FfnGate);
        l.w_up = matrix_of(TensorKind::FfnUp);
      }
      l.w_down = matrix_of(TensorKind::FfnDown);
    }
  }

  // Rows [first, first + n) of a fused matrix, as a matrix of their own (a view into the file).
  Matrix rows_of(const Matrix& m, int first, int n) const {
    std::string name = fmt::format("{}[rows {}..{}]", m.name, first, first + n);
    if (!m.packed) return {name, m.type, m.data + static_cast<size_t>(first) * m.row_bytes, n, m.cols, m.row_bytes};
    // A packed matrix splits between its groups of 16 rows only.
    if (first % kernels::kPackRows != 0)
      fail("{}: packed tensor '{}' would be split at row {}, inside a group of {} rows: repack the "
           "original file with this build's aded repack",
           f_.path(), m.name, first, kernels::kPackRows);
    Matrix part{std::move(name), m.type, nullptr, n, m.cols, m.row_bytes};
    part.packed = m.packed + static_cast<size_t>(first / kernels::kPackRows) *
                                 kernels::packed_group_bytes(kernels::pack_format(m.type), m.cols);
    return part;
  }

  // LongRoPE comes as a pair of factor tensors or not at all.
  void load_long_rope() {
    const std::string long_name = tensor_name(TensorKind::RopeFactorsLong);
    const std::string short_name = tensor_name(TensorKind::RopeFactorsShort);
    const bool has_long = f_.find_tensor(long_name) != nullptr, has_short = f_.find_tensor(short_name) != nullptr;
    if (has_long != has_short)
      fail("{}: the file has '{}' but not '{}': LongRoPE needs both", f_.path(), has_long ? long_name : short_name,
           has_long ? short_name : long_name);
    if (!has_long) return;
    if (!m_.rope_freqs_.empty())
      fail("{}: the file has both '{}' and LongRoPE factors: which ones apply is ambiguous", f_.path(),
           tensor_name(TensorKind::RopeFreqs));
    m_.rope_factors_long_ = rope_freq_factors(long_name, TensorKind::RopeFactorsLong);
    m_.rope_factors_short_ = rope_freq_factors(short_name, TensorKind::RopeFactorsShort);
  }

  Model& m_;
  const GgufFile& f_;
  ModelConfig& c_;
  std::set<const GgufTensor*> used_;
};

std::shared_ptr<const Model> Model::load(const std::string& path) { return from_gguf(GgufFile::open(path)); }

std::shared_ptr<const Model> Model::from_gguf(GgufFile file) {
  std::shared_ptr<Model> m(new Model());
  m->file_ = std::move(file);
  m->packed_ = new_packed_state();
  ModelLoader(*m).run();
  return m;
}

const std::vector<float>& Model::rope_freq_factors(int64_t n_ctx) const {
  if (rope_factors_long_.empty()) return rope_freqs_;
  return n_ctx > config_.rope_orig_ctx ? rope_factors_long_ : rope_factors_short_;
}

TensorType Model::main_type() const {
  return layers_.empty() ? token_embd_.type : layers_[0].w_up.type;
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
