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
  // attention tasks, task = query group * n_heads + head.
  Range qkv_rows, tokens, attention_tasks;
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
  TeamShare share(int member) const;

 private:
  const ModelDims& d_;
  size_t n_tokens_;
  int team_;
  bool own_heads_;
};

}  // namespace aded
