#include "train/blas.h"

#include <cblas.h>

namespace aded::train {

namespace {
CBLAS_TRANSPOSE op(bool trans) {
  return trans ? CblasTrans : CblasNoTrans;
}
}  // namespace

template <>
void gemm<float>(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                 int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  if (m <= 0 || n <= 0) return;
  cblas_sgemm(CblasRowMajor, op(trans_a), op(trans_b), m, n, k, alpha, a, lda, b, ldb, beta, c,
              ldc);
}

template <>
void gemm<double>(bool trans_a, bool trans_b, int m, int n, int k, double alpha, const double* a,
                  int lda, const double* b, int ldb, double beta, double* c, int ldc) {
  if (m <= 0 || n <= 0) return;
  cblas_dgemm(CblasRowMajor, op(trans_a), op(trans_b), m, n, k, alpha, a, lda, b, ldb, beta, c,
              ldc);
}

BlasSingleThreaded::BlasSingleThreaded() : previous_(openblas_get_num_threads()) {
  openblas_set_num_threads(1);
}
BlasSingleThreaded::~BlasSingleThreaded() {
  openblas_set_num_threads(previous_);
}

namespace {
// Slices of at least this many rows keep each GEMM call efficient.
constexpr int64_t kRowGrain = 16;
}  // namespace

template <typename T>
void linear_forward(ThreadPool& pool, int rows, int in, int out, const T* x, int ldx, const T* w,
                    T beta, T* y, int ldy) {
  pool.run([&](int t, int nt) {
    int64_t begin, end;
    ThreadPool::split(rows, kRowGrain, t, nt, begin, end);
    gemm<T>(false, true, static_cast<int>(end - begin), out, in, T(1), x + begin * ldx, ldx, w, in,
            beta, y + begin * ldy, ldy);
  });
}

template <typename T>
void linear_input_grad(ThreadPool& pool, int rows, int in, int out, const T* dy, int lddy,
                       const T* w, T beta, T* dx, int lddx) {
  pool.run([&](int t, int nt) {
    int64_t begin, end;
    ThreadPool::split(rows, kRowGrain, t, nt, begin, end);
    gemm<T>(false, false, static_cast<int>(end - begin), in, out, T(1), dy + begin * lddy, lddy, w,
            in, beta, dx + begin * lddx, lddx);
  });
}

template <typename T>
void linear_weight_grad(ThreadPool& pool, int rows, int in, int out, const T* dy, int lddy,
                        const T* x, int ldx, T* dw) {
  pool.run([&](int t, int nt) {
    int64_t begin, end;
    ThreadPool::split(out, kRowGrain, t, nt, begin, end);
    gemm<T>(true, false, static_cast<int>(end - begin), in, rows, T(1), dy + begin, lddy, x, ldx,
            T(1), dw + begin * in, in);
  });
}

#define ADED_INSTANTIATE(T)                                                                      \
  template void linear_forward<T>(ThreadPool&, int, int, int, const T*, int, const T*, T, T*,    \
                                  int);                                                          \
  template void linear_input_grad<T>(ThreadPool&, int, int, int, const T*, int, const T*, T, T*, \
                                     int);                                                       \
  template void linear_weight_grad<T>(ThreadPool&, int, int, int, const T*, int, const T*, int, T*);
ADED_INSTANTIATE(float)
ADED_INSTANTIATE(double)
#undef ADED_INSTANTIATE

}  // namespace aded::train
