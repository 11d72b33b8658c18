// Forward and backward of a Llama model over a batch of training sequences: token embedding,
// RMSNorm, RoPE attention with grouped-query heads and a causal mask, SwiGLU, a tied or separate
// output matrix, and the mean cross-entropy. It keeps the activations the backward needs.
//
// float is what training runs; double exists so the tests can check every gradient against
// finite differences at a precision where they mean something.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "aded/thread_pool.h"
#include "train/parameter_layout.h"
#include "train/tensor_ops.h"

namespace aded::train {

// Seconds spent per phase, summed over calls.
struct PassTimes {
  double forward = 0;   // embedding and layers
  double output = 0;    // output projection, loss, and (when training) its gradient
  double backward = 0;  // layers and embedding
};

// A loss on the output logits in place of the cross-entropy with the next token (distillation:
// train/distill_objective.h). Called for every row of the batch, from several threads at once.
template <typename T>
class OutputObjective {
 public:
  virtual ~OutputObjective() = default;
  // The row's contribution to the loss; with `gradient`, writes d loss / d logits over logits.
  virtual double row(int64_t row, T* logits, int vocab, bool gradient) const = 0;
};

template <typename T>
class LlamaTrainingPass {
 public:
  // Room for up to max_sequences sequences of shape.ctx_train tokens.
  LlamaTrainingPass(const ParameterLayout& layout, int max_sequences, ThreadPool& pool);

  // Mean cross-entropy of predicting targets[i] after inputs[0..i] of each sequence (inputs and
  // targets hold whole sequences of shape.ctx_train tokens). With grads, also adds the gradient of
  // that mean with respect to params into grads (same layout).
  double run(const T* params, std::span<const int32_t> inputs, std::span<const int32_t> targets,
             T* grads);
  // The same with another loss: the sum of objective.row() over the rows (targets unused).
  double run(const T* params, std::span<const int32_t> inputs, const OutputObjective<T>& objective,
             T* grads);

  const PassTimes& times() const { return times_; }

 private:
  void forward_layers(const T* params, std::span<const int32_t> inputs);
  double run_with(const T* params, std::span<const int32_t> inputs,
                  std::span<const int32_t> targets, const OutputObjective<T>* objective, T* grads);
  double output_layer(const T* params, std::span<const int32_t> targets,
                      const OutputObjective<T>* objective, T* grads);
  void backward_layers(const T* params, std::span<const int32_t> inputs, T* grads);
  // Runs fn(row) for rows [0, rows_), split across the pool.
  template <typename Fn>
  void for_rows(Fn&& fn) {
    pool_.run([&](int t, int nt) {
      int64_t begin, end;
      ThreadPool::split(rows_, 1, t, nt, begin, end);
      for (int64_t i = begin; i < end; ++i) fn(i);
    });
  }
  // Runs fn(row, partial) for rows [0, rows_) and then adds each thread's partial weight gradient
  // (dim values, handed to fn zeroed) into dweight, in thread order.
  template <typename Fn>
  void rows_with_norm_grad(Fn&& fn, T* dweight);

  size_t at(size_t layer, size_t row_width) const {
    return layer * static_cast<size_t>(max_rows_) * row_width;
  }

  ParameterLayout layout_;
  ModelConfig shape_;
  ThreadPool& pool_;
  int max_rows_ = 0;
  int rows_ = 0;        // rows of the current batch
  int chunk_rows_ = 0;  // rows of logits per thread at a time
  RopeTable<T> rope_;
  PassTimes times_;

  // Activations, one slab per layer (indexed with at()).
  std::vector<T> resid_;  // layer inputs, n_layers + 1 slabs: [rows][dim]
  std::vector<T> xn_attn_, inv_rms_attn_, qkv_, lse_, attn_out_;
  std::vector<T> resid_mid_, xn_ffn_, inv_rms_ffn_, gate_up_, ffn_act_;
  std::vector<T> x_final_, inv_rms_final_;
  // Backward scratch, reused by every layer.
  std::vector<T> dx_, dtmp_, dqkv_, dgate_up_, dffn_act_;
  // Per thread: logits of a chunk of rows, a private output-matrix gradient, attention scratch,
  // norm-weight gradient partials.
  std::vector<T> logits_, doutput_, attn_scratch_, dnorm_;
  std::vector<double> loss_per_thread_;
};

}  // namespace aded::train
