// Where each weight of a Llama model lives in one flat buffer. Parameters, gradients and the
// optimizer's moments all use this layout, so the optimizer, gradient clipping and checkpoints work
// on plain arrays. The q, k and v projections of a layer are stored together (rows of wq, then wk,
// then wv) and so are the gate and up projections, so each pair of products is one large GEMM.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "aded/model.h"
#include "model/model_tensors.h"

namespace aded::train {

// A learnable tensor: `rows` rows of `cols` values at `offset`.
struct ParameterTensor {
  TensorKind kind = TensorKind::TokenEmbedding;
  std::string name;
  size_t offset = 0;
  int64_t rows = 0;
  int64_t cols = 0;
  bool is_matrix = false;  // matrices get weight decay, norm weights do not

  size_t size() const { return static_cast<size_t>(rows * cols); }
};

struct LayerOffsets {
  size_t attn_norm = 0;  // [dim]
  size_t wqkv = 0;       // [dim + 2 kv_dim][dim]: wq rows, then wk, then wv
  size_t wo = 0;         // [dim][dim]
  size_t ffn_norm = 0;   // [dim]
  size_t w_gate_up = 0;  // [2 hidden][dim]: gate rows, then up rows
  size_t w_down = 0;     // [dim][hidden]
};

class ParameterLayout {
 public:
  explicit ParameterLayout(const ModelConfig& shape);

  const ModelConfig& shape() const { return shape_; }
  // Floats in the buffer (tensors start at 64-byte boundaries; the gaps stay zero).
  size_t size() const { return size_; }
  size_t embedding() const { return embedding_; }      // [vocab][dim]
  size_t output_norm() const { return output_norm_; }  // [dim]
  size_t output() const { return output_; }            // [vocab][dim]; == embedding() when tied
  const LayerOffsets& layer(int l) const { return layers_[static_cast<size_t>(l)]; }
  const std::vector<ParameterTensor>& tensors() const { return tensors_; }

 private:
  // Appends the tensor of this kind (of layer `layer`, -1 for the model's own).
  size_t add(TensorKind kind, int layer = -1);

  ModelConfig shape_;
  size_t size_ = 0;
  size_t embedding_ = 0, output_norm_ = 0, output_ = 0;
  std::vector<LayerOffsets> layers_;
  std::vector<ParameterTensor> tensors_;
};

// Initial weights, a pure function of the seed: matrices ~ N(0, 0.02), the projections that write
// into the residual stream (wo, w_down) scaled by 1/sqrt(2 layers) as in GPT-2, norm weights 1.
template <typename T>
void init_parameters(const ParameterLayout& layout, uint64_t seed, std::span<T> params);

}  // namespace aded::train
