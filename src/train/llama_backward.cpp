// The backward half of LlamaTrainingPass: from the gradient of the final norm's output (left in
// dtmp_ by the output layer) back through the layers to the token embedding. Per layer, in reverse:
// - feed-forward: dact = dx w_down, dw_down += dx^T act; SwiGLU backward gives dgu;
//   dxn = dgu w_gate_up, dw_gate_up += dgu^T xn; dx += rmsnorm'(dxn);
// - attention: dattn = dx wo, dwo += dx^T attn; attention backward gives dq, dk, dv; RoPE
//   transposed on dq and dk; dxn = dqkv wqkv, dwqkv += dqkv^T xn; dx += rmsnorm'(dxn).
#include <algorithm>

#include "train/attention.h"
#include "train/blas.h"
#include "train/llama_training_pass.h"

namespace aded::train {

template <typename T>
template <typename Fn>
void LlamaTrainingPass<T>::rows_with_norm_grad(Fn&& fn, T* dweight) {
  const auto d = static_cast<size_t>(shape_.dim);
  pool_.run([&](int t, int nt) {
    int64_t begin, end;
    ThreadPool::split(rows_, 1, t, nt, begin, end);
    T* partial = dnorm_.data() + static_cast<size_t>(t) * d;
    std::fill(partial, partial + d, T(0));
    for (int64_t i = begin; i < end; ++i) fn(i, partial);
  });
  for (int t = 0; t < pool_.size(); ++t)
    for (size_t j = 0; j < d; ++j) dweight[j] += dnorm_[static_cast<size_t>(t) * d + j];
}

template <typename T>
void LlamaTrainingPass<T>::backward_layers(const T* params, std::span<const int32_t> inputs,
                                           T* grads) {
  const int rows = rows_, d = shape_.dim, hd = shape_.head_dim, seq = shape_.ctx_train,
            f = shape_.hidden_dim, qkv = shape_.qkv_dim(), heads = shape_.n_heads,
            kv_heads = shape_.n_kv_heads;
  const auto ud = static_cast<size_t>(d);
  T* dx = dx_.data();
  T* dtmp = dtmp_.data();

  // Final norm: dx = rmsnorm'(dx_final).
  std::fill(dx, dx + static_cast<size_t>(rows) * ud, T(0));
  const T* x_last = resid_.data() + at(static_cast<size_t>(shape_.n_layers), ud);
  rows_with_norm_grad(
      [&](int64_t i, T* partial) {
        rms_norm_backward(x_last + i * d, params + layout_.output_norm(),
                          inv_rms_final_[static_cast<size_t>(i)], dtmp + i * d, d, dx + i * d,
                          partial);
      },
      grads + layout_.output_norm());

  const int sequences = rows / seq;
  const int group = heads / kv_heads;
  for (int l = shape_.n_layers - 1; l >= 0; --l) {
    const LayerOffsets& w = layout_.layer(l);
    const auto layer = static_cast<size_t>(l);
    const T* x = resid_.data() + at(layer, ud);
    const T* xn = xn_attn_.data() + at(layer, ud);
    const T* inv_rms = inv_rms_attn_.data() + at(layer, 1);
    const T* q = qkv_.data() + at(layer, static_cast<size_t>(qkv));
    const T* lse = lse_.data() + at(layer, static_cast<size_t>(heads));
    const T* attn = attn_out_.data() + at(layer, ud);
    const T* mid = resid_mid_.data() + at(layer, ud);
    const T* xn2 = xn_ffn_.data() + at(layer, ud);
    const T* inv_rms2 = inv_rms_ffn_.data() + at(layer, 1);
    const T* gate_up = gate_up_.data() + at(layer, 2 * static_cast<size_t>(f));
    const T* act = ffn_act_.data() + at(layer, static_cast<size_t>(f));

    // Feed-forward.
    T* dact = dffn_act_.data();
    T* dgu = dgate_up_.data();
    linear_input_grad<T>(pool_, rows, f, d, dx, d, params + w.w_down, T(0), dact, f);
    linear_weight_grad<T>(pool_, rows, f, d, dx, d, act, f, grads + w.w_down);
    for_rows([&](int64_t i) {
      const T* gu = gate_up + i * 2 * f;
      swiglu_backward(gu, gu + f, dact + i * f, f, dgu + i * 2 * f, dgu + i * 2 * f + f);
    });
    linear_input_grad<T>(pool_, rows, d, 2 * f, dgu, 2 * f, params + w.w_gate_up, T(0), dtmp, d);
    linear_weight_grad<T>(pool_, rows, d, 2 * f, dgu, 2 * f, xn2, d, grads + w.w_gate_up);
    rows_with_norm_grad(
        [&](int64_t i, T* partial) {
          rms_norm_backward(mid + i * d, params + w.ffn_norm, inv_rms2[i], dtmp + i * d, d,
                            dx + i * d, partial);
        },
        grads + w.ffn_norm);

    // Attention.
    linear_input_grad<T>(pool_, rows, d, d, dx, d, params + w.wo, T(0), dtmp, d);
    linear_weight_grad<T>(pool_, rows, d, d, dx, d, attn, d, grads + w.wo);
    T* dq = dqkv_.data();
    // One task per (sequence, kv head), which owns the dk and dv of that head.
    pool_.run([&](int t, int nt) {
      int64_t begin, end;
      ThreadPool::split(static_cast<int64_t>(sequences) * kv_heads, 1, t, nt, begin, end);
      T* scratch = attn_scratch_.data() +
                   static_cast<size_t>(t) * 2 * static_cast<size_t>(seq) * static_cast<size_t>(seq);
      for (int64_t task = begin; task < end; ++task) {
        const int64_t b = task / kv_heads;
        const int kvh = static_cast<int>(task % kv_heads);
        const T* base = q + b * seq * qkv;
        T* dbase = dq + b * seq * qkv;
        T* dk = dbase + d + kvh * hd;
        T* dv = dbase + d + kv_heads * hd + kvh * hd;
        for (int i = 0; i < seq; ++i) {
          std::fill(dk + i * qkv, dk + i * qkv + hd, T(0));
          std::fill(dv + i * qkv, dv + i * qkv + hd, T(0));
        }
        for (int h = kvh * group; h < (kvh + 1) * group; ++h) {
          const HeadMatrices<T> m{base + h * hd, base + d + kvh * hd,
                                  base + d + kv_heads * hd + kvh * hd, qkv, qkv};
          attention_head_backward(seq, hd, m, lse + (b * heads + h) * seq,
                                  dtmp + b * seq * d + h * hd, d, dbase + h * hd, qkv, dk, dv, qkv,
                                  scratch);
        }
      }
    });
    for_rows([&](int64_t i) {
      const size_t pos = static_cast<size_t>(i % seq) * static_cast<size_t>(rope_.half);
      T* row = dq + i * qkv;
      rope_backward(row, heads, hd, rope_.cos.data() + pos, rope_.sin.data() + pos);
      rope_backward(row + d, kv_heads, hd, rope_.cos.data() + pos, rope_.sin.data() + pos);
    });
    linear_input_grad<T>(pool_, rows, d, qkv, dq, qkv, params + w.wqkv, T(0), dtmp, d);
    linear_weight_grad<T>(pool_, rows, d, qkv, dq, qkv, xn, d, grads + w.wqkv);
    rows_with_norm_grad(
        [&](int64_t i, T* partial) {
          rms_norm_backward(x + i * d, params + w.attn_norm, inv_rms[i], dtmp + i * d, d,
                            dx + i * d, partial);
        },
        grads + w.attn_norm);
  }

  // Token embedding: each thread owns a range of vocabulary rows, so no two threads add to one row.
  T* dembedding = grads + layout_.embedding();
  pool_.run([&](int t, int nt) {
    int64_t begin, end;
    ThreadPool::split(shape_.n_vocab, 1, t, nt, begin, end);
    for (int i = 0; i < rows; ++i) {
      const int64_t token = inputs[static_cast<size_t>(i)];
      if (token < begin || token >= end) continue;
      T* row = dembedding + token * d;
      const T* g = dx + static_cast<size_t>(i) * ud;
      for (int j = 0; j < d; ++j) row[j] += g[j];
    }
  });
}

template void LlamaTrainingPass<float>::backward_layers(const float*, std::span<const int32_t>,
                                                        float*);
template void LlamaTrainingPass<double>::backward_layers(const double*, std::span<const int32_t>,
                                                         double*);

}  // namespace aded::train
