// The layers of the Llama block over a batch: the forward pass's math, block by block. A
// ForwardPass lives for one Context::forward; the activation buffers and the KV cache outlive it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "aded/context.h"
#include "aded/model.h"
#include "aded/thread_pool.h"
#include "core/kernels/kernels.h"
#include "model/kv_cache.h"
#include "model/matmul_op.h"
#include "model/model_dims.h"
#include "model/team_partition.h"

namespace aded {

// The activations of a batch, kept from forward to forward (grown to the largest batch).
struct Activations {
  Activations(int pool_size, size_t n_ctx);

  std::vector<float> x;                   // the residual stream, [n][dim]
  std::vector<float> q, k, v;             // [n][q_dim], [n][kv_dim], [n][kv_dim]
  std::vector<float> att;                 // attention output, [n][q_dim]
  std::vector<float> proj;                // wo or w_down output before its residual add, [n][dim]
  std::vector<float> gate, up;            // [n][hidden]
  std::vector<float> rope_cos, rope_sin;  // [n][rope_pairs]
  std::vector<int32_t> group_prefixes;    // per attention query group (shared_prefixes)
  std::vector<int32_t> window_first, window_skip;  // per query of a sliding-window model (window_starts)
  // What each member of the forward's team keeps to itself: its normalized copy of the residual
  // stream, the matrix products' input, and attention scores, [query of a task][scores_stride].
  struct alignas(64) Own {  // a cache line of its own: each member writes its input's fields
    std::vector<float> xn;
    PreparedInput input;
    std::vector<float> scores;
  };
  std::vector<Own> members;  // one per thread of the pool
  size_t scores_stride = 0;  // the most cells a query of the forwards so far has seen, or more

  void reserve(const ModelDims& d, size_t n);
  // Room for queries that see up to n_keys cells. It grows with the text (doubling, at most to
  // the context), so a long context costs scratch only when it is used.
  void reserve_scores(size_t n_keys);
  size_t n_ctx() const { return n_ctx_; }

 private:
  size_t capacity_ = 0;
  size_t n_ctx_;
};

class ForwardPass {
 public:
  // Reserves the buffers and works out the attention query groups of the batch (checked before).
  ForwardPass(const Model& model, const ModelDims& dims, const kernels::KernelTable& kt, const Batch& batch,
              int32_t n_past, Activations& act, KvCache& cache);

  // x = the embeddings of the batch tokens; the RoPE angles of their positions.
  void embed();
  // The layers of the batch's plan, on `pool` as one team region (or on the calling thread).
  void run_layers(ThreadPool& pool);
  // The residual stream after the last layer that ran: n rows of dim floats.
  const float* residual() const { return act_.x.data(); }

 private:
  struct Member;
  // x += wo · attention(q, k, v), where q, k, v = rms_norm(x) · wq, wk, wv (+ bias), RoPE on q, k.
  void attention_block(size_t layer, Member& me);
  // x += w_down · (silu(xn · w_gate) * (xn · w_up)), where xn = rms_norm(x); StarCoder2:
  // x += w_down · gelu(xn · w_up + b_up) + b_down, xn its LayerNorm.
  void ffn_block(size_t layer, Member& me);

  // The steps of the blocks.
  void normalize(const std::vector<float>& weight, const std::vector<float>& bias, Member& me);
  void qkv_and_attention_own_heads(size_t layer, const LayerWeights& w, Member& me);
  void qkv_and_attention_shared(size_t layer, const LayerWeights& w, Member& me);
  void bias_rope_cache(size_t layer, size_t token, Range q_heads, Range kv_heads);
  void attend(size_t layer, const AttentionTask& task, float* scores);
  void attend_split(size_t layer, Member& me);
  // The kernel's arguments for the task's queries (scores in `scores`, one row each); their count.
  int task_args(size_t layer, const AttentionTask& task, float* scores, kernels::AttentionArgs* args) const;
  void gate(Range units);
  void activate_biased(const std::vector<float>& bias, Range units);
  void add_bias(const std::vector<float>& bias, std::vector<float>& y, size_t ldy, Range columns);
  void product(Member& me, const Matrix& w, std::vector<float>& y, size_t ldy, Range rows);
  void residual_add(Range columns);
  void add_block_output(const std::vector<float>& post_norm, Member& me);

  const Model& model_;
  const ModelConfig& c_;
  const ModelDims& d_;
  const kernels::KernelTable& kt_;
  const Batch& batch_;
  const size_t n_;       // batch tokens
  const int n_rows_;     // the same, as the kernels take it
  const size_t n_past_;  // token i's cell is n_past + i
  Activations& act_;
  KvCache& cache_;
  const TeamPartition* partition_ = nullptr;  // while run_layers runs
};

}  // namespace aded
