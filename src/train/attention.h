// Causal self-attention of one query head of one sequence over one kv head (grouped-query
// attention shares a kv head between several query heads), as GEMMs over blocks of query rows:
// a block of rows only multiplies the keys it can see, which skips most of the masked half.
#pragma once

namespace aded::train {

// The matrices of one head: seq rows each, head_dim columns, rows ld apart.
template <typename T>
struct HeadMatrices {
  const T* q;
  const T* k;
  const T* v;
  int ld_q;
  int ld_kv;
};

// out = softmax(q k^T / sqrt(head_dim), causal) v. Writes lse[i] = log-sum-exp of score row i
// (the backward rebuilds the probabilities from it). scratch: seq * seq values.
template <typename T>
void attention_head_forward(int seq, int head_dim, const HeadMatrices<T>& m, T* out, int ld_out,
                            T* lse, T* scratch);

// Given dout, writes dq and adds into dk and dv. scratch: 2 * seq * seq values.
template <typename T>
void attention_head_backward(int seq, int head_dim, const HeadMatrices<T>& m, const T* lse,
                             const T* dout, int ld_dout, T* dq, int ld_dq, T* dk, T* dv, int ld_dkv,
                             T* scratch);

}  // namespace aded::train
