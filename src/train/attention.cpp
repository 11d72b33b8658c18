#include "train/attention.h"

#include <algorithm>
#include <cmath>

#include "train/blas.h"
#include "train/vector_kernels.h"

namespace aded::train {

namespace {
// Query rows per block. Smaller blocks skip more of the masked triangle but make smaller GEMMs.
constexpr int kRowBlock = 64;
}  // namespace

template <typename T>
void attention_head_forward(int seq, int head_dim, const HeadMatrices<T>& m, T* out, int ld_out,
                            T* lse, T* scratch) {
  const T scale = T(1) / std::sqrt(static_cast<T>(head_dim));
  for (int r0 = 0; r0 < seq; r0 += kRowBlock) {
    const int r1 = std::min(seq, r0 + kRowBlock), rows = r1 - r0;
    T* scores = scratch + static_cast<size_t>(r0) * static_cast<size_t>(seq);
    // Row i of the block sees keys [0, i]; the block's last row sees [0, r1).
    gemm<T>(false, true, rows, r1, head_dim, scale,
            m.q + static_cast<size_t>(r0) * static_cast<size_t>(m.ld_q), m.ld_q, m.k, m.ld_kv, T(0),
            scores, seq);
    for (int i = r0; i < r1; ++i) {
      T* row = scratch + static_cast<size_t>(i) * static_cast<size_t>(seq);
      const int visible = i + 1;
      const T max = row_max(row, visible);
      const T sum = exp_and_sum(row, max, row, visible);
      const T inv = T(1) / sum;
      for (int j = 0; j < visible; ++j) row[j] *= inv;
      std::fill(row + visible, row + r1, T(0));
      lse[i] = max + std::log(sum);
    }
    gemm<T>(false, false, rows, head_dim, r1, T(1), scores, seq, m.v, m.ld_kv, T(0),
            out + static_cast<size_t>(r0) * static_cast<size_t>(ld_out), ld_out);
  }
}

template <typename T>
void attention_head_backward(int seq, int head_dim, const HeadMatrices<T>& m, const T* lse,
                             const T* dout, int ld_dout, T* dq, int ld_dq, T* dk, T* dv, int ld_dkv,
                             T* scratch) {
  const T scale = T(1) / std::sqrt(static_cast<T>(head_dim));
  const size_t s = static_cast<size_t>(seq);
  T* probs = scratch;
  T* dscores = scratch + s * s;
  for (int r0 = 0; r0 < seq; r0 += kRowBlock) {
    const int r1 = std::min(seq, r0 + kRowBlock), rows = r1 - r0;
    const size_t at = static_cast<size_t>(r0) * s;
    const T* q_block = m.q + static_cast<size_t>(r0) * static_cast<size_t>(m.ld_q);
    const T* dout_block = dout + static_cast<size_t>(r0) * static_cast<size_t>(ld_dout);
    // Rebuild the probabilities of the block's rows.
    gemm<T>(false, true, rows, r1, head_dim, scale, q_block, m.ld_q, m.k, m.ld_kv, T(0), probs + at,
            seq);
    for (int i = r0; i < r1; ++i) {
      T* row = probs + static_cast<size_t>(i) * s;
      exp_and_sum(row, lse[i], row, i + 1);
      std::fill(row + i + 1, row + r1, T(0));
    }
    // dv[keys] += p^T dout; dp = dout v^T.
    gemm<T>(true, false, r1, head_dim, rows, T(1), probs + at, seq, dout_block, ld_dout, T(1), dv,
            ld_dkv);
    gemm<T>(false, true, rows, r1, head_dim, T(1), dout_block, ld_dout, m.v, m.ld_kv, T(0),
            dscores + at, seq);
    // dscore_ij = p_ij (dp_ij - sum_k p_ik dp_ik): the softmax backward.
    for (int i = r0; i < r1; ++i) {
      const T* p = probs + static_cast<size_t>(i) * s;
      T* d = dscores + static_cast<size_t>(i) * s;
      T dot = 0;
      for (int j = 0; j <= i; ++j) dot += p[j] * d[j];
      for (int j = 0; j <= i; ++j) d[j] = p[j] * (d[j] - dot);
      std::fill(d + i + 1, d + r1, T(0));
    }
    // dq = scale ds k; dk[keys] += scale ds^T q.
    gemm<T>(false, false, rows, head_dim, r1, scale, dscores + at, seq, m.k, m.ld_kv, T(0),
            dq + static_cast<size_t>(r0) * static_cast<size_t>(ld_dq), ld_dq);
    gemm<T>(true, false, r1, head_dim, rows, scale, dscores + at, seq, q_block, m.ld_q, T(1), dk,
            ld_dkv);
  }
}

#define ADED_INSTANTIATE(T)                                                                      \
  template void attention_head_forward<T>(int, int, const HeadMatrices<T>&, T*, int, T*, T*);    \
  template void attention_head_backward<T>(int, int, const HeadMatrices<T>&, const T*, const T*, \
                                           int, T*, int, T*, T*, int, T*);
ADED_INSTANTIATE(float)
ADED_INSTANTIATE(double)
#undef ADED_INSTANTIATE

}  // namespace aded::train
