// Matrix products of the forward pass, run across the thread pool. Several products that share
// one input (q/k/v, gate/up) run in one parallel region, split by output rows.
#pragma once

#include <span>
#include <vector>

#include "aded/model.h"
#include "aded/thread_pool.h"
#include "core/kernels/kernels.h"

namespace aded {

// n activation rows, prepared once per input format they are needed in.
class PreparedInput {
 public:
  // x: n rows of K floats with stride ldx.
  void reset(const float* x, size_t ldx, int n, int64_t K);
  // The rows in the format weights of this type multiply with (quantized on first use).
  kernels::MatMulArgs args_for(const Matrix& w, const kernels::KernelTable& kt, float* y, size_t ldy);
  // The rows quantized to Q8 (input_format Q8), made on first use and shared with args_for.
  const uint8_t* q8_rows(const kernels::KernelTable& kt);
  int64_t width() const { return K_; }
  int rows() const { return n_; }

 private:
  const float* x_ = nullptr;
  size_t ldx_ = 0;
  int n_ = 0;
  int64_t K_ = 0;
  bool q8_ready_ = false, q8k_ready_ = false;
  std::vector<uint8_t> q8_, q8k_;
};

struct MatMulJob {
  const Matrix* w;
  float* y;
  size_t ldy;
};

// The rows [begin, end) of the jobs' outputs stacked in order (job 0's rows first), on this thread.
void run_matmul_rows(const kernels::KernelTable& kt, PreparedInput& input, std::span<const MatMulJob> jobs,
                     int64_t begin, int64_t end);

// y_j = input x W_j^T for every job; all jobs read the same prepared input.
void run_matmuls(ThreadPool& pool, const kernels::KernelTable& kt, PreparedInput& input,
                 std::span<const MatMulJob> jobs);

}  // namespace aded
