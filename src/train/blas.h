// Row-major GEMM on OpenBLAS for float and double, and the three products of a linear layer
// (forward, input gradient, weight gradient) split across the thread pool. Each thread calls a
// single-threaded GEMM on its own slice, so OpenBLAS's threads and the pool's never compete for the
// two cores, and the result does not depend on OpenBLAS's own partitioning.
#pragma once

#include "aded/thread_pool.h"

namespace aded::train {

// C = alpha * op(A) * op(B) + beta * C, row-major; op(A) is m x k, op(B) is k x n.
template <typename T>
void gemm(bool trans_a, bool trans_b, int m, int n, int k, T alpha, const T* a, int lda, const T* b,
          int ldb, T beta, T* c, int ldc);

// Makes OpenBLAS single-threaded while it lives (the pool provides the parallelism).
class BlasSingleThreaded {
 public:
  BlasSingleThreaded();
  ~BlasSingleThreaded();
  BlasSingleThreaded(const BlasSingleThreaded&) = delete;
  BlasSingleThreaded& operator=(const BlasSingleThreaded&) = delete;

 private:
  int previous_;
};

// y[rows][out] = x[rows][in] * w[out][in]^T + beta * y. Splits the rows.
template <typename T>
void linear_forward(ThreadPool& pool, int rows, int in, int out, const T* x, int ldx, const T* w,
                    T beta, T* y, int ldy);
// dx[rows][in] = dy[rows][out] * w[out][in] + beta * dx. Splits the rows.
template <typename T>
void linear_input_grad(ThreadPool& pool, int rows, int in, int out, const T* dy, int lddy,
                       const T* w, T beta, T* dx, int lddx);
// dw[out][in] += dy[rows][out]^T * x[rows][in]. Splits the output features.
template <typename T>
void linear_weight_grad(ThreadPool& pool, int rows, int in, int out, const T* dy, int lddy,
                        const T* x, int ldx, T* dw);

}  // namespace aded::train
