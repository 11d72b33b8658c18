#include "train/model_export.h"

#include "aded/error.h"
#include "model/model_metadata.h"
#include "tokenizer/vocab_metadata.h"

namespace aded::train {

void export_model(const std::string& path, const ParameterLayout& layout,
                  std::span<const float> params, const GgufFile& vocab, const std::string& name) {
  const ModelConfig& s = layout.shape();
  if (params.size() != layout.size())
    fail("export: {} parameters do not fit the layout ({})", params.size(), layout.size());
  GgufWriter w;
  write_model_config(w, s, name, TensorType::F32);
  w.copy_metadata(vocab, vocab_key::kPrefix);

  // The tensor of this kind: rows from first_row on of the trainer's tensor at offset (fused
  // tensors hold several).
  auto add = [&](TensorKind kind, int layer, size_t offset, int64_t first_row = 0) {
    std::vector<int64_t> dims = tensor_dims(kind, s);
    const int64_t cols = dims[0], rows = dims.size() == 2 ? dims[1] : 1;
    const float* data = params.data() + offset + static_cast<size_t>(first_row * cols);
    w.add_tensor_bytes(
        tensor_name(kind, layer), TensorType::F32, std::move(dims),
        {reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(rows * cols) * sizeof(float)});
  };
  add(TensorKind::TokenEmbedding, -1, layout.embedding());
  for (int l = 0; l < s.n_layers; ++l) {
    const LayerOffsets& o = layout.layer(l);
    add(TensorKind::AttnNorm, l, o.attn_norm);
    add(TensorKind::AttnQ, l, o.wqkv);
    add(TensorKind::AttnK, l, o.wqkv, s.q_dim());
    add(TensorKind::AttnV, l, o.wqkv, s.q_dim() + s.kv_dim());
    add(TensorKind::AttnOutput, l, o.wo);
    add(TensorKind::FfnNorm, l, o.ffn_norm);
    add(TensorKind::FfnGate, l, o.w_gate_up);
    add(TensorKind::FfnDown, l, o.w_down);
    add(TensorKind::FfnUp, l, o.w_gate_up, s.hidden_dim);
  }
  add(TensorKind::OutputNorm, -1, layout.output_norm());
  if (!s.tied_output) add(TensorKind::Output, -1, layout.output());
  w.write(path);
}

}  // namespace aded::train
