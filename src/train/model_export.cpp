#include "train/model_export.h"

#include "aded/error.h"

namespace aded::train {

void export_model(const std::string& path, const ParameterLayout& layout,
                  std::span<const float> params, const GgufFile& vocab, const std::string& name) {
  const LlamaShape& s = layout.shape();
  if (params.size() != layout.size())
    fail("export: {} parameters do not fit the layout ({})", params.size(), layout.size());
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_string("general.name", name);
  w.set_u32("general.file_type", 0);  // all F32
  w.set_u32("llama.context_length", static_cast<uint32_t>(s.ctx));
  w.set_u32("llama.embedding_length", static_cast<uint32_t>(s.dim));
  w.set_u32("llama.block_count", static_cast<uint32_t>(s.n_layers));
  w.set_u32("llama.feed_forward_length", static_cast<uint32_t>(s.hidden_dim));
  w.set_u32("llama.attention.head_count", static_cast<uint32_t>(s.n_heads));
  w.set_u32("llama.attention.head_count_kv", static_cast<uint32_t>(s.n_kv_heads));
  w.set_f32("llama.attention.layer_norm_rms_epsilon", kNormEps);
  w.set_u32("llama.rope.dimension_count", static_cast<uint32_t>(s.head_dim()));
  w.set_f32("llama.rope.freq_base", kRopeBase);
  w.copy_metadata(vocab, "tokenizer.");

  const int64_t d = s.dim, kv = s.kv_dim(), f = s.hidden_dim, v = s.n_vocab;
  // rows [first_row, first_row + rows) of the tensor at offset, as a ggml {cols, rows} tensor.
  auto add = [&](std::string tensor, size_t offset, int64_t first_row, int64_t rows, int64_t cols) {
    const float* data = params.data() + offset + static_cast<size_t>(first_row * cols);
    std::vector<int64_t> dims =
        rows == 1 ? std::vector<int64_t>{cols} : std::vector<int64_t>{cols, rows};
    w.add_tensor_bytes(
        std::move(tensor), TensorType::F32, std::move(dims),
        {reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(rows * cols) * sizeof(float)});
  };
  add("token_embd.weight", layout.embedding(), 0, v, d);
  for (int l = 0; l < s.n_layers; ++l) {
    const LayerOffsets& o = layout.layer(l);
    const std::string p = "blk." + std::to_string(l) + ".";
    add(p + "attn_norm.weight", o.attn_norm, 0, 1, d);
    add(p + "attn_q.weight", o.wqkv, 0, d, d);
    add(p + "attn_k.weight", o.wqkv, d, kv, d);
    add(p + "attn_v.weight", o.wqkv, d + kv, kv, d);
    add(p + "attn_output.weight", o.wo, 0, d, d);
    add(p + "ffn_norm.weight", o.ffn_norm, 0, 1, d);
    add(p + "ffn_gate.weight", o.w_gate_up, 0, f, d);
    add(p + "ffn_down.weight", o.w_down, 0, d, f);
    add(p + "ffn_up.weight", o.w_gate_up, f, f, d);
  }
  add("output_norm.weight", layout.output_norm(), 0, 1, d);
  if (!s.tied_output) add("output.weight", layout.output(), 0, v, d);
  w.write(path);
}

}  // namespace aded::train
