#include "train/parameter_layout.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace aded::train {

namespace {

constexpr size_t kAlignFloats = 16;  // 64 bytes

size_t align_up(size_t n) {
  return (n + kAlignFloats - 1) / kAlignFloats * kAlignFloats;
}

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Standard normal values from a counter-based stream (Box-Muller on two 53-bit uniforms).
class NormalStream {
 public:
  explicit NormalStream(uint64_t seed) : state_(seed) {}
  double next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = (static_cast<double>(splitmix64(state_) >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
    const double u2 = static_cast<double>(splitmix64(state_) >> 11) * 0x1.0p-53;
    const double r = std::sqrt(-2.0 * std::log(u1)), a = 2.0 * std::numbers::pi * u2;
    spare_ = r * std::sin(a);
    has_spare_ = true;
    return r * std::cos(a);
  }

 private:
  uint64_t state_;
  double spare_ = 0;
  bool has_spare_ = false;
};

}  // namespace

ParameterLayout::ParameterLayout(const ModelConfig& shape) : shape_(shape) {
  embedding_ = add(TensorKind::TokenEmbedding);
  layers_.resize(static_cast<size_t>(shape.n_layers));
  for (int l = 0; l < shape.n_layers; ++l) {
    LayerOffsets& o = layers_[static_cast<size_t>(l)];
    o.attn_norm = add(TensorKind::AttnNorm, l);
    o.wqkv = add(TensorKind::AttnQkv, l);
    o.wo = add(TensorKind::AttnOutput, l);
    o.ffn_norm = add(TensorKind::FfnNorm, l);
    o.w_gate_up = add(TensorKind::FfnGateUp, l);
    o.w_down = add(TensorKind::FfnDown, l);
  }
  output_norm_ = add(TensorKind::OutputNorm);
  output_ = shape.tied_output ? embedding_ : add(TensorKind::Output);
}

size_t ParameterLayout::add(TensorKind kind, int layer) {
  const std::vector<int64_t> dims = tensor_dims(kind, shape_);
  const bool is_matrix = dims.size() == 2;
  const int64_t rows = is_matrix ? dims[1] : 1;
  ParameterTensor t{kind, tensor_name(kind, layer), size_, rows, dims[0], is_matrix};
  size_ = align_up(size_ + t.size());
  tensors_.push_back(t);
  return t.offset;
}

template <typename T>
void init_parameters(const ParameterLayout& layout, uint64_t seed, std::span<T> params) {
  std::fill(params.begin(), params.end(), T(0));
  const double residual_scale = 1.0 / std::sqrt(2.0 * layout.shape().n_layers);
  for (size_t i = 0; i < layout.tensors().size(); ++i) {
    const ParameterTensor& t = layout.tensors()[i];
    T* out = params.data() + t.offset;
    if (!t.is_matrix) {
      std::fill(out, out + t.size(), T(1));
      continue;
    }
    const bool residual = t.kind == TensorKind::AttnOutput || t.kind == TensorKind::FfnDown;
    const double std_dev = 0.02 * (residual ? residual_scale : 1.0);
    NormalStream normal(seed * 0x100000001B3ull + i);
    for (size_t j = 0; j < t.size(); ++j) out[j] = static_cast<T>(std_dev * normal.next());
  }
}

template void init_parameters<float>(const ParameterLayout&, uint64_t, std::span<float>);
template void init_parameters<double>(const ParameterLayout&, uint64_t, std::span<double>);

}  // namespace aded::train
