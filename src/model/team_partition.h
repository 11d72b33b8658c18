// How the layers of a forward are divided among the threads of its team (docs/architecture.md,
// "Threads"). Every member computes whole values, and only those it owns, by the same code in the
// same order whoever owns them; so the partition decides who writes which cache lines, never a
// result. Shares follow the 16-row groups the SIMD kernels pack weights in.
#pragma once

#include <cstddef>

#include "model/model_dims.h"

namespace aded {

// [begin, end) of some index.
struct Range {
  size_t begin = 0, end = 0;
  bool empty() const { return begin >= end; }
  size_t size() const { return empty() ? 0 : end - begin; }
};

// Member t's part of every layer of the forward.
struct TeamShare {
  Range columns;  // of the residual stream: rows of wo and w_down, and their residual adds
  Range hidden;   // hidden units: rows of w_gate and w_up, and their SwiGLU

  // Attention with own_heads: a contiguous set of kv heads and their query heads; the member
  // computes their q/k/v rows, bias, RoPE, cache columns and attention for every token.
  Range kv_heads, q_heads;
  // Otherwise (fewer kv heads than members), three steps separated by barriers: rows of wq, wk
  // and wv stacked in that order; tokens whose bias, RoPE and cache write (all heads) it does;
  // attention tasks (TeamPartition::attention_task).
  Range qkv_rows, tokens, attention_tasks;
};

// Member `member`'s part of [0, n) among `team`, in multiples of `grain` (ThreadPool::split).
Range share_of(size_t n, size_t grain, int member, int team);

// Tokens whose queries are attended together: they share the keys of their common prefix.
constexpr size_t kQueryGroupTokens = 16;

// One call of the attention kernel: the query heads [head_begin, head_end) of one kv head for the
// tokens [first_token, first_token + kQueryGroupTokens) of the batch. The heads of a kv head go
// together so that its keys and values are read once for all of them.
struct AttentionTask {
  size_t kv_head, head_begin, head_end, first_token;
};

class TeamPartition {
 public:
  // The team for a batch of n tokens on a pool of pool_size threads: one thread when the layers
  // are too small to pay for a second (under 2^18 multiply-adds per layer for the batch).
  static int team_size(const ModelDims& d, size_t n_tokens, int pool_size);

  TeamPartition(const ModelDims& d, size_t n_tokens, int team);

  int team() const { return team_; }
  // Each member owns whole kv heads (at least as many kv heads as members).
  bool own_heads() const { return own_heads_; }
  // Fewer attention tasks than members (one kv head and one token, or a few kv heads and many
  // threads): every member takes part in every task, which the kernel's steps divide (kernels.h:
  // the shared prefix's keys, then the queries), so each key is scored once, however many members
  // share a kv head, and the result does not depend on how many do.
  bool split_tasks() const { return split_tasks_; }
  TeamShare share(int member) const;

  // Attention tasks: kv heads x query groups x slices of the kv head's query heads, numbered in
  // that order. A kv head's heads are sliced only as far as the kernel's query limit needs.
  size_t attention_tasks() const { return d_.n_kv_heads * tasks_per_kv_head(); }
  AttentionTask attention_task(size_t task) const { return attention_task_of(task / tasks_per_kv_head(), task % tasks_per_kv_head()); }
  // Task i of kv head `kv_head` (own heads: the member runs those of its kv heads).
  size_t tasks_per_kv_head() const { return query_groups_ * slices_; }
  AttentionTask attention_task_of(size_t kv_head, size_t i) const;

 private:
  const ModelDims& d_;
  size_t n_tokens_;
  int team_;
  bool own_heads_;
  bool split_tasks_;
  size_t query_groups_;     // ceil(n_tokens / kQueryGroupTokens)
  size_t heads_per_slice_;  // query heads of one task (the last slice may have fewer)
  size_t slices_;           // ceil(group / heads_per_slice)
};

}  // namespace aded
