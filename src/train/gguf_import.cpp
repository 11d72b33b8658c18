#include "train/gguf_import.h"

#include <cmath>

#include "aded/error.h"
#include "core/quant/quant.h"
#include "model/matrix_rows.h"

namespace aded::train {

namespace {

// Rows [0, m.rows) of the matrix as floats at dst.
void copy_matrix(const Matrix& m, float* dst) {
  std::vector<uint8_t> scratch;  // rows of a matrix its file stores packed (aded repack)
  for (int64_t r = 0; r < m.rows; ++r)
    quant::dequantize_row(m.type, matrix_row(m, r, scratch), dst + static_cast<size_t>(r * m.cols), m.cols);
}

void copy_vector(const std::vector<float>& v, float* dst) {
  std::copy(v.begin(), v.end(), dst);
}

}  // namespace

ModelConfig trainable_shape(const Model& model, const std::string& path) {
  const ModelConfig& c = model.config();
  if (c.arch != Architecture::Llama)
    fail("{}: the trainer fine-tunes llama models, not {}", path, c.arch_name);
  ModelConfig s =
      ModelConfig::new_model(Architecture::Llama, c.dim, c.n_layers, c.n_heads, c.n_kv_heads,
                             c.hidden_dim, c.n_vocab, c.ctx_train, c.tied_output);
  if (c.qkv_bias || c.head_dim != s.head_dim || c.rope_dim != s.rope_dim ||
      c.rope_layout != s.rope_layout || c.rope_scale != s.rope_scale ||
      !model.rope_freq_factors().empty())
    fail(
        "{}: the trainer's llama has no biases and RoPE over whole heads of dim / heads in "
        "adjacent pairs; this model differs",
        path);
  if (c.rope_base != s.rope_base || std::fabs(c.norm_eps - s.norm_eps) > 1e-9f)
    fail("{}: RoPE base {} and norm epsilon {} (the trainer uses {} and {})", path, c.rope_base,
         c.norm_eps, s.rope_base, s.norm_eps);
  return s;
}

void import_parameters(const Model& model, const ParameterLayout& layout, std::span<float> params) {
  const ModelConfig& s = layout.shape();
  if (params.size() != layout.size()) fail("import: the parameter buffer does not fit the layout");
  copy_matrix(model.token_embedding(), params.data() + layout.embedding());
  for (int l = 0; l < s.n_layers; ++l) {
    const LayerWeights& w = model.layers()[static_cast<size_t>(l)];
    const LayerOffsets& o = layout.layer(l);
    const auto d = static_cast<size_t>(s.dim);
    copy_vector(w.attn_norm, params.data() + o.attn_norm);
    copy_matrix(w.wq, params.data() + o.wqkv);
    copy_matrix(w.wk, params.data() + o.wqkv + static_cast<size_t>(s.q_dim()) * d);
    copy_matrix(w.wv, params.data() + o.wqkv + static_cast<size_t>(s.q_dim() + s.kv_dim()) * d);
    copy_matrix(w.wo, params.data() + o.wo);
    copy_vector(w.ffn_norm, params.data() + o.ffn_norm);
    copy_matrix(w.w_gate, params.data() + o.w_gate_up);
    copy_matrix(w.w_up, params.data() + o.w_gate_up + static_cast<size_t>(s.hidden_dim) * d);
    copy_matrix(w.w_down, params.data() + o.w_down);
  }
  copy_vector(model.output_norm(), params.data() + layout.output_norm());
  if (!s.tied_output) copy_matrix(model.output(), params.data() + layout.output());
}

}  // namespace aded::train
