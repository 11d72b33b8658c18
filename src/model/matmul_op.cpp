#include "model/matmul_op.h"

#include <array>

#include "aded/error.h"

namespace aded {

void PreparedInput::reset(const float* x, size_t ldx, int n, int64_t K) {
  x_ = x;
  ldx_ = ldx;
  n_ = n;
  K_ = K;
  q8_ready_ = false;
  q8k_ready_ = false;
}

kernels::MatMulArgs PreparedInput::args_for(const Matrix& w, const kernels::KernelTable& kt, float* y,
                                            size_t ldy) {
  if (w.cols != K_) throw Error("matmul: input width does not match " + w.name);
  kernels::MatMulArgs a{w.type, w.data, w.row_bytes, K_, nullptr, 0, n_, y, ldy, kt.uses_packed_weights ? w.packed : nullptr};
  if (kernels::input_format(w.type) == kernels::InputFormat::F32) {
    a.x = reinterpret_cast<const uint8_t*>(x_);
    a.x_stride = ldx_ * sizeof(float);
    return a;
  }
  const kernels::InputFormat format = kernels::input_format(w.type);
  const size_t stride = kernels::input_row_bytes(format, K_);
  if (format == kernels::InputFormat::Q8) {
    a.x = q8_rows(kt);
  } else {
    if (!q8k_ready_) {
      q8k_.resize(stride * static_cast<size_t>(n_));
      kt.quantize_q8k(x_, ldx_, n_, K_, q8k_.data(), stride);
      q8k_ready_ = true;
    }
    a.x = q8k_.data();
  }
  a.x_stride = stride;
  return a;
}

const uint8_t* PreparedInput::q8_rows(const kernels::KernelTable& kt) {
  if (!q8_ready_) {
    const size_t stride = kernels::input_row_bytes(kernels::InputFormat::Q8, K_);
    q8_.resize(stride * static_cast<size_t>(n_));
    kt.quantize_q8(x_, ldx_, n_, K_, q8_.data(), stride);
    q8_ready_ = true;
  }
  return q8_.data();
}

void run_matmul_rows(const kernels::KernelTable& kt, PreparedInput& input, std::span<const MatMulJob> jobs,
                     int64_t begin, int64_t end) {
  int64_t base = 0;
  for (size_t i = 0; i < jobs.size() && begin < end; ++i) {
    const int64_t rows = jobs[i].w->rows;
    const int64_t lo = std::max(begin, base), hi = std::min(end, base + rows);
    if (lo < hi) kt.matmul(input.args_for(*jobs[i].w, kt, jobs[i].y, jobs[i].ldy), lo - base, hi - base);
    base += rows;
  }
}

void run_matmuls(ThreadPool& pool, const kernels::KernelTable& kt, PreparedInput& input,
                 std::span<const MatMulJob> jobs) {
  constexpr size_t kMaxJobs = 4;
  if (jobs.size() > kMaxJobs) throw Error("run_matmuls: too many fused products");
  std::array<kernels::MatMulArgs, kMaxJobs> args{};
  int64_t total = 0;
  for (size_t i = 0; i < jobs.size(); ++i) {
    args[i] = input.args_for(*jobs[i].w, kt, jobs[i].y, jobs[i].ldy);
    total += jobs[i].w->rows;
  }
  // Rows of all jobs form one range; each thread takes a contiguous slice of it. Products too
  // small to pay for waking the other threads run on the calling thread.
  constexpr int64_t kGrain = 16;
  constexpr int64_t kMinParallelWork = 1 << 17;  // multiply-adds
  const auto work = [&](int t, int nt) {
    int64_t begin, end;
    ThreadPool::split(total, kGrain, t, nt, begin, end);
    int64_t base = 0;
    for (size_t i = 0; i < jobs.size() && begin < end; ++i) {
      const int64_t rows = jobs[i].w->rows;
      const int64_t lo = std::max(begin, base), hi = std::min(end, base + rows);
      if (lo < hi) kt.matmul(args[i], lo - base, hi - base);
      base += rows;
    }
  };
  if (total * input.width() * input.rows() < kMinParallelWork)
    work(0, 1);
  else
    pool.run(work);
}

}  // namespace aded
