// The forward half of LlamaTrainingPass: embedding, then per layer
//   x_mid = x + wo · attention(rope(wq · norm(x)), rope(wk · norm(x)), wv · norm(x))
//   x_out = x_mid + w_down · (silu(w_gate · norm(x_mid)) * (w_up · norm(x_mid)))
// and the final norm. Every intermediate the backward needs stays in its per-layer slab.
#include <algorithm>
#include <cstring>

#include "train/attention.h"
#include "train/blas.h"
#include "train/llama_training_pass.h"

namespace aded::train {

template <typename T>
void LlamaTrainingPass<T>::forward_layers(const T* params, std::span<const int32_t> inputs) {
  const int rows = rows_, d = shape_.dim, hd = shape_.head_dim, seq = shape_.ctx_train,
            f = shape_.hidden_dim, qkv = shape_.qkv_dim(), heads = shape_.n_heads,
            kv_heads = shape_.n_kv_heads;
  const auto ud = static_cast<size_t>(d);
  const T eps = static_cast<T>(shape_.norm_eps);
  const T* embedding = params + layout_.embedding();

  for_rows([&](int64_t i) {
    const size_t token = static_cast<size_t>(inputs[static_cast<size_t>(i)]);
    std::memcpy(resid_.data() + i * d, embedding + token * ud, ud * sizeof(T));
  });

  const int sequences = rows / seq;
  for (int l = 0; l < shape_.n_layers; ++l) {
    const LayerOffsets& w = layout_.layer(l);
    const auto layer = static_cast<size_t>(l);
    const T* x = resid_.data() + at(layer, ud);
    T* xn = xn_attn_.data() + at(layer, ud);
    T* inv_rms = inv_rms_attn_.data() + at(layer, 1);
    T* q = qkv_.data() + at(layer, static_cast<size_t>(qkv));
    T* lse = lse_.data() + at(layer, static_cast<size_t>(heads));
    T* attn = attn_out_.data() + at(layer, ud);
    T* mid = resid_mid_.data() + at(layer, ud);
    T* xn2 = xn_ffn_.data() + at(layer, ud);
    T* inv_rms2 = inv_rms_ffn_.data() + at(layer, 1);
    T* gate_up = gate_up_.data() + at(layer, 2 * static_cast<size_t>(f));
    T* act = ffn_act_.data() + at(layer, static_cast<size_t>(f));
    T* out = resid_.data() + at(layer + 1, ud);

    for_rows([&](int64_t i) {
      inv_rms[i] = rms_norm_forward(x + i * d, params + w.attn_norm, d, eps, xn + i * d);
    });
    linear_forward<T>(pool_, rows, d, qkv, xn, d, params + w.wqkv, T(0), q, qkv);
    for_rows([&](int64_t i) {
      const size_t pos = static_cast<size_t>(i % seq) * static_cast<size_t>(rope_.half);
      T* row = q + i * qkv;
      rope_forward(row, heads, hd, rope_.cos.data() + pos, rope_.sin.data() + pos);
      rope_forward(row + d, kv_heads, hd, rope_.cos.data() + pos, rope_.sin.data() + pos);
      std::copy(x + i * d, x + (i + 1) * d, mid + i * d);  // the residual, for wo to add into
    });
    // One task per (sequence, query head).
    const int group = heads / kv_heads;
    pool_.run([&](int t, int nt) {
      int64_t begin, end;
      ThreadPool::split(static_cast<int64_t>(sequences) * heads, 1, t, nt, begin, end);
      T* scratch = attn_scratch_.data() +
                   static_cast<size_t>(t) * 2 * static_cast<size_t>(seq) * static_cast<size_t>(seq);
      for (int64_t task = begin; task < end; ++task) {
        const int64_t b = task / heads;
        const int h = static_cast<int>(task % heads), kvh = h / group;
        const T* base = q + b * seq * qkv;
        const HeadMatrices<T> m{base + h * hd, base + d + kvh * hd,
                                base + d + kv_heads * hd + kvh * hd, qkv, qkv};
        attention_head_forward(seq, hd, m, attn + b * seq * d + h * hd, d, lse + task * seq,
                               scratch);
      }
    });
    linear_forward<T>(pool_, rows, d, d, attn, d, params + w.wo, T(1), mid, d);

    for_rows([&](int64_t i) {
      inv_rms2[i] = rms_norm_forward(mid + i * d, params + w.ffn_norm, d, eps, xn2 + i * d);
    });
    linear_forward<T>(pool_, rows, d, 2 * f, xn2, d, params + w.w_gate_up, T(0), gate_up, 2 * f);
    for_rows([&](int64_t i) {
      swiglu_forward(gate_up + i * 2 * f, gate_up + i * 2 * f + f, f, act + i * f);
      std::copy(mid + i * d, mid + (i + 1) * d, out + i * d);
    });
    linear_forward<T>(pool_, rows, f, d, act, f, params + w.w_down, T(1), out, d);
  }

  const T* x = resid_.data() + at(static_cast<size_t>(shape_.n_layers), ud);
  for_rows([&](int64_t i) {
    inv_rms_final_[static_cast<size_t>(i)] = rms_norm_forward(
        x + i * d, params + layout_.output_norm(), d, eps, x_final_.data() + i * d);
  });
}

template void LlamaTrainingPass<float>::forward_layers(const float*, std::span<const int32_t>);
template void LlamaTrainingPass<double>::forward_layers(const double*, std::span<const int32_t>);

}  // namespace aded::train
