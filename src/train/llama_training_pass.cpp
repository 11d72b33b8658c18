#include "train/llama_training_pass.h"

#include <algorithm>
#include <chrono>

#include "aded/error.h"
#include "train/blas.h"

namespace aded::train {

namespace {

// Rows of logits a thread computes at a time: 256 x 32000 floats (33 MB) per thread. Measured in
// CPU time per step, 256 and 512 are equally good and smaller chunks pack the output matrix too
// often, for model dimensions 64 to 288 alike.
constexpr int kOutputChunkRows = 256;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

template <typename T>
LlamaTrainingPass<T>::LlamaTrainingPass(const ParameterLayout& layout, int max_sequences,
                                        ThreadPool& pool)
    : layout_(layout),
      shape_(layout.shape()),
      pool_(pool),
      max_rows_(max_sequences * layout.shape().ctx_train),
      rope_(layout.shape().ctx_train, layout.shape().head_dim, layout.shape().rope_base) {
  if (max_sequences < 1) fail("the batch must hold at least one sequence, not {}", max_sequences);
  const auto n = static_cast<size_t>(max_rows_), d = static_cast<size_t>(shape_.dim),
             layers = static_cast<size_t>(shape_.n_layers),
             f = static_cast<size_t>(shape_.hidden_dim),
             qkv = static_cast<size_t>(shape_.qkv_dim()),
             heads = static_cast<size_t>(shape_.n_heads),
             vocab = static_cast<size_t>(shape_.n_vocab),
             threads = static_cast<size_t>(pool.size()),
             seq = static_cast<size_t>(shape_.ctx_train);
  resid_.resize((layers + 1) * n * d);
  xn_attn_.resize(layers * n * d);
  inv_rms_attn_.resize(layers * n);
  qkv_.resize(layers * n * qkv);
  lse_.resize(layers * n * heads);
  attn_out_.resize(layers * n * d);
  resid_mid_.resize(layers * n * d);
  xn_ffn_.resize(layers * n * d);
  inv_rms_ffn_.resize(layers * n);
  gate_up_.resize(layers * n * 2 * f);
  ffn_act_.resize(layers * n * f);
  x_final_.resize(n * d);
  inv_rms_final_.resize(n);
  chunk_rows_ = std::min(kOutputChunkRows, max_rows_);
  logits_.resize(threads * static_cast<size_t>(chunk_rows_) * vocab);
  attn_scratch_.resize(threads * 2 * seq * seq);
  dnorm_.resize(threads * d);
  loss_per_thread_.resize(threads);
  dx_.resize(n * d);
  dtmp_.resize(n * d);
  dqkv_.resize(n * qkv);
  dgate_up_.resize(n * 2 * f);
  dffn_act_.resize(n * f);
  doutput_.resize((threads - 1) * vocab * d);
}

template <typename T>
double LlamaTrainingPass<T>::run(const T* params, std::span<const int32_t> inputs,
                                 std::span<const int32_t> targets, T* grads) {
  return run_with(params, inputs, targets, nullptr, grads);
}

template <typename T>
double LlamaTrainingPass<T>::run(const T* params, std::span<const int32_t> inputs,
                                 const OutputObjective<T>& objective, T* grads) {
  return run_with(params, inputs, inputs, &objective, grads);
}

template <typename T>
double LlamaTrainingPass<T>::run_with(const T* params, std::span<const int32_t> inputs,
                                      std::span<const int32_t> targets,
                                      const OutputObjective<T>* objective, T* grads) {
  if (inputs.size() != targets.size() || inputs.empty() ||
      inputs.size() % static_cast<size_t>(shape_.ctx_train) != 0 ||
      inputs.size() > static_cast<size_t>(max_rows_))
    throw Error(fmt::format(
        "training pass: {} inputs and {} targets do not make whole sequences of {} (at most {})",
        inputs.size(), targets.size(), shape_.ctx_train, max_rows_ / shape_.ctx_train));
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i] < 0 || inputs[i] >= shape_.n_vocab || targets[i] < 0 ||
        targets[i] >= shape_.n_vocab)
      throw Error(fmt::format("training pass: token {} is outside the vocabulary of {}",
                              inputs[i] < 0 || inputs[i] >= shape_.n_vocab ? inputs[i] : targets[i],
                              shape_.n_vocab));
  rows_ = static_cast<int>(inputs.size());

  auto start = std::chrono::steady_clock::now();
  forward_layers(params, inputs);
  times_.forward += seconds_since(start);

  start = std::chrono::steady_clock::now();
  const double loss = output_layer(params, targets, objective, grads);
  times_.output += seconds_since(start);

  if (grads) {
    start = std::chrono::steady_clock::now();
    backward_layers(params, inputs, grads);
    times_.backward += seconds_since(start);
  }
  return loss;
}

// Logits are made chunk by chunk: each thread takes its rows, and per chunk computes the logits,
// the loss and (when training) the logit gradient in place, then the input gradient of the chunk
// and its contribution to the output-matrix gradient. Thread 0 adds into grads directly, the others
// into private copies that are summed afterwards.
template <typename T>
double LlamaTrainingPass<T>::output_layer(const T* params, std::span<const int32_t> targets,
                                          const OutputObjective<T>* objective, T* grads) {
  const int d = shape_.dim, vocab = shape_.n_vocab, rows = rows_;
  const T* w_out = params + layout_.output();
  const T grad_scale = grads ? T(1) / static_cast<T>(rows) : T(0);
  const size_t matrix = static_cast<size_t>(vocab) * static_cast<size_t>(d);
  const int threads = pool_.size();
  T* dx_final = dtmp_.data();
  pool_.run([&](int t, int nt) {
    int64_t begin, end;
    ThreadPool::split(rows, 1, t, nt, begin, end);
    T* logits = logits_.data() + static_cast<size_t>(t) * static_cast<size_t>(chunk_rows_) *
                                     static_cast<size_t>(vocab);
    T* dw = nullptr;
    if (grads) {
      dw =
          t == 0 ? grads + layout_.output() : doutput_.data() + static_cast<size_t>(t - 1) * matrix;
      if (t > 0) std::fill(dw, dw + matrix, T(0));
    }
    double loss = 0;
    for (int64_t r0 = begin; r0 < end; r0 += chunk_rows_) {
      const int n = static_cast<int>(std::min<int64_t>(chunk_rows_, end - r0));
      const T* x = x_final_.data() + r0 * d;
      gemm<T>(false, true, n, vocab, d, T(1), x, d, w_out, d, T(0), logits, vocab);
      for (int i = 0; i < n; ++i) {
        T* row = logits + static_cast<size_t>(i) * static_cast<size_t>(vocab);
        loss += objective ? objective->row(r0 + i, row, vocab, grads != nullptr)
                          : softmax_cross_entropy(row, vocab, targets[static_cast<size_t>(r0 + i)],
                                                  grad_scale);
      }
      if (!grads) continue;
      gemm<T>(false, false, n, d, vocab, T(1), logits, vocab, w_out, d, T(0), dx_final + r0 * d, d);
      gemm<T>(true, false, vocab, d, n, T(1), logits, vocab, x, d, T(1), dw, d);
    }
    loss_per_thread_[static_cast<size_t>(t)] = loss;
  });
  if (grads && threads > 1) {
    T* dw = grads + layout_.output();
    pool_.run([&](int t, int nt) {
      int64_t begin, end;
      ThreadPool::split(static_cast<int64_t>(matrix), 64, t, nt, begin, end);
      for (int k = 0; k < threads - 1; ++k) {
        const T* part = doutput_.data() + static_cast<size_t>(k) * matrix;
        for (int64_t j = begin; j < end; ++j) dw[j] += part[j];
      }
    });
  }
  double total = 0;
  for (int t = 0; t < threads; ++t) total += loss_per_thread_[static_cast<size_t>(t)];
  return objective ? total : total / rows;
}

template class LlamaTrainingPass<float>;
template class LlamaTrainingPass<double>;

}  // namespace aded::train
