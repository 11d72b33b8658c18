#include "model/greedy_head.h"

#include <algorithm>
#include <cmath>
#include <thread>

#include "core/argmax.h"
#include "core/quant/quant.h"
#include "model/matmul_op.h"
#include "model/matrix_rows.h"

namespace aded {

namespace {

// Softmax probability of token `at` in a row of logits (the top one, in practice).
float softmax_of_top(std::span<const float> y, int32_t at) {
  const double top = y[static_cast<size_t>(at)];
  if (!std::isfinite(top)) return 1.0f;
  double sum = 0;
  for (float v : y) sum += std::exp(static_cast<double>(v) - top);
  return sum > 0 ? static_cast<float>(1.0 / sum) : 1.0f;
}

// Rounds a non-negative double up to a float that is not below it.
float round_up(double v) {
  const auto f = static_cast<float>(v);
  return static_cast<double>(f) >= v ? f : std::nextafter(f, INFINITY);
}

bool is_float_type(TensorType t) { return t == TensorType::F32 || t == TensorType::F16 || t == TensorType::BF16; }

}  // namespace

std::unique_ptr<GreedyHead> GreedyHead::build(const Matrix& output, const kernels::KernelTable& kt) {
  if (!is_float_type(output.type) || output.cols % 32 != 0 || output.rows < 1) return nullptr;
  return std::unique_ptr<GreedyHead>(new GreedyHead(output, kt));
}

GreedyHead::GreedyHead(const Matrix& output, const kernels::KernelTable& kt) : exact_(&output), kt_(kt) {
  const int64_t K = output.cols, V = output.rows;
  const size_t q8_row = *row_bytes(TensorType::Q8_0, K);
  q8_data_.resize(q8_row * static_cast<size_t>(V));
  l1_.resize(static_cast<size_t>(V));
  err_.resize(static_cast<size_t>(V));
  reach_.resize(static_cast<size_t>(V));
  // Rows are independent: every core takes a slice (loading a model waits for this).
  const auto build_rows = [&](int64_t begin, int64_t end) {
    std::vector<float> w(static_cast<size_t>(K)), back(static_cast<size_t>(K));
    std::vector<uint8_t> packed_row;
    for (int64_t j = begin; j < end; ++j) {
      quant::dequantize_row(output.type, matrix_row(output, j, packed_row), w.data(), K);
      uint8_t* q = q8_data_.data() + static_cast<size_t>(j) * q8_row;
      quant::quantize_row(TensorType::Q8_0, w.data(), q, K);
      quant::dequantize_row(TensorType::Q8_0, q, back.data(), K);
      double l1 = 0, err = 0, max_abs = 0;
      for (int64_t k = 0; k < K; ++k) {
        const double v = w[static_cast<size_t>(k)];
        l1 += std::fabs(v);
        max_abs = std::max(max_abs, std::fabs(v));
        err = std::max(err, std::fabs(v - static_cast<double>(back[static_cast<size_t>(k)])));
      }
      // The double sum of K terms is itself rounded: a relative 2^-40 covers it for any K we load.
      l1_[static_cast<size_t>(j)] = round_up(l1 * (1 + 0x1p-40));
      err_[static_cast<size_t>(j)] = round_up(err);
      reach_[static_cast<size_t>(j)] = round_up(max_abs + err);
    }
  };
  const int64_t slices = std::min<int64_t>(std::clamp<int64_t>(std::thread::hardware_concurrency(), 1, 8), V);
  std::vector<std::thread> helpers;
  for (int64_t t = 1; t < slices; ++t) helpers.emplace_back(build_rows, V * t / slices, V * (t + 1) / slices);
  build_rows(0, V / slices);
  for (auto& h : helpers) h.join();
  for (int64_t j = 0; j < V; ++j) {
    l1_max_ = std::max(l1_max_, l1_[static_cast<size_t>(j)]);
    err_max_ = std::max(err_max_, err_[static_cast<size_t>(j)]);
    reach_max_ = std::max(reach_max_, reach_[static_cast<size_t>(j)]);
  }
  q8_.name = output.name + " (int8 copy for greedy decoding)";
  q8_.type = TensorType::Q8_0;
  q8_.data = q8_data_.data();
  q8_.rows = V;
  q8_.cols = K;
  q8_.row_bytes = q8_row;
  if (kt.uses_packed_weights) {
    q8_packed_ = std::make_unique<kernels::PackedWeights>(TensorType::Q8_0, q8_.data, q8_row, V, K);
    q8_.packed = q8_packed_->data();
  }
}

float GreedyHead::exact_logit(int64_t j, const float* x, std::vector<float>& row_f32) const {
  const int64_t K = exact_->cols;
  thread_local std::vector<uint8_t> packed_row;  // rows of an output its file stores packed
  const uint8_t* src = matrix_row(*exact_, j, packed_row);
  const float* w;
  if (exact_->type == TensorType::F32) {
    w = reinterpret_cast<const float*>(src);
  } else {
    row_f32.resize(static_cast<size_t>(K));
    quant::dequantize_row(exact_->type, src, row_f32.data(), K);  // exact: F16 and BF16 fit in float
    w = row_f32.data();
  }
  // The float rule of kernels.h: one accumulator, k ascending, from +0.
  float acc = 0;
  for (int64_t k = 0; k < K; ++k) acc = std::fma(w[k], x[k], acc);
  return acc;
}

void GreedyHead::project_exact(const float* x, float* y) const {
  const kernels::MatMulArgs args{exact_->type, exact_->data, exact_->row_bytes, exact_->cols,
                                 reinterpret_cast<const uint8_t*>(x), static_cast<size_t>(exact_->cols) * sizeof(float), 1,
                                 y, static_cast<size_t>(exact_->rows),
                                 kt_.uses_packed_weights ? exact_->packed : nullptr};
  kt_.matmul(args, 0, exact_->rows);
}

int32_t GreedyHead::refine(const float* x, const uint8_t* xq, float* y, Scratch& scratch, Stats& stats,
                           float* top_probability) const {
  const int64_t K = exact_->cols, V = exact_->rows;
  ++stats.rows;
  // The activation row and its int8 copy: |h|_1, |ĥ|_1 and the largest element error e_h.
  const int8_t* q = kernels::q8_values(xq);
  const float* d = kernels::q8_scales(xq, K);
  double l1_x = 0, l1_xq = 0, err_x = 0;
  bool finite = true;
  for (int64_t k = 0; k < K; ++k) {
    const double v = x[k], vq = static_cast<double>(d[k / 32]) * q[k];
    finite = finite && std::isfinite(v);
    l1_x += std::fabs(v);
    l1_xq += std::fabs(vq);
    err_x = std::max(err_x, std::fabs(v - vq));
  }
  // The largest int8 logit and magnitude, and whether all are finite (a vector kernel: with the
  // candidate scan below, these passes over the vocabulary are the head's overhead).
  float y_top = -INFINITY, y_mag = 0;
  finite = kt_.scan_logits(y, V, &y_top, &y_mag) && finite;
  if (!finite) {
    ++stats.full_rows;
    project_exact(x, y);
    const int32_t at = argmax(std::span<const float>(y, static_cast<size_t>(V)));
    if (top_probability) *top_probability = softmax_of_top(std::span<const float>(y, static_cast<size_t>(V)), at);
    return at;
  }
  // Rounding of both accumulations (K fmas; a product and an fma per block): gamma_m = m u / (1 - m u)
  // <= 1.01 m u, with m counting both chains.
  const double gamma = 1.01 * static_cast<double>(K + 2 * (K / 32) + 2) * 0x1p-24;
  const float a = round_up(err_x * (1 + 0x1p-40));
  const float b = round_up(l1_xq * (1 + 0x1p-40));
  const float c = round_up(gamma * (l1_x + l1_xq) * (1 + 0x1p-40));
  // The bound is evaluated in float: inflating it by 2^-10 and adding 2^-18 of the largest
  // magnitude involved covers every rounding of its own evaluation and of the sums and
  // differences below (each off by at most 2^-24 of that magnitude).
  const float widest_raw = (a * l1_max_ + b * err_max_ + c * reach_max_) * (1 + 0x1p-10f);
  const float margin = 0x1p-18f * (y_mag + widest_raw) + 0x1p-100f;
  const auto bound = [&](float l1, float err, float reach) { return (a * l1 + b * err + c * reach) * (1 + 0x1p-10f) + margin; };
  const float widest = widest_raw + margin;
  // The exact maximum is at least the top int8 logit minus its bound (at most `widest`); a token
  // can reach that only if its int8 logit is within its own bound of it.
  const float floor = y_top - widest;
  const float cut = floor - widest;  // no token below this can be a candidate: one compare each
  scratch.keep.resize(static_cast<size_t>(V));
  // For the top probability the scan also keeps the tokens near enough the top to weigh in it.
  const float scan_cut = top_probability ? std::min(cut, y_top - kNearLogits) : cut;
  const int64_t kept = kt_.keep_at_least(y, V, scan_cut, scratch.keep.data());
  // Every token left out is below the exact maximum, so the row's argmax is the first of the
  // candidates (visited in increasing order) with the largest exact logit.
  float best = -INFINITY;
  int32_t at = -1;
  for (int64_t i = 0; i < kept; ++i) {
    const int64_t j = scratch.keep[static_cast<size_t>(i)];
    const auto u = static_cast<size_t>(j);
    if (y[j] < cut) continue;  // kept for the top probability only: its int8 logit stays
    if (y[j] + bound(l1_[u], err_[u], reach_[u]) >= floor) {
      y[j] = exact_logit(j, x, scratch.row_f32);
      ++stats.candidates;
      if (y[j] > best) {
        best = y[j];
        at = static_cast<int32_t>(j);
      }
    } else if (!top_probability) {
      y[j] = -INFINITY;
    }
  }
  // (No candidate beat -inf: every exact logit is -inf.)
  if (at < 0) at = argmax(std::span<const float>(y, static_cast<size_t>(V)));
  if (top_probability) {
    double sum = 0;
    // The estimate feeds an exit rule, and thousands of tokens may lie within kNearLogits of the
    // top: vector exponentials in float, in slices, and the sum stops once the top probability is
    // known to be below kLeastTopProbability (then it is an upper bound).
    constexpr int64_t kSlice = 512;
    const double enough = 1.0 / kLeastTopProbability;
    for (int64_t i = 0; i < kept && sum <= enough; i += kSlice)
      sum += kt_.sum_exp_at(y, scratch.keep.data() + i, std::min(kSlice, kept - i), best);
    *top_probability = std::isfinite(best) && sum > 0 ? static_cast<float>(1.0 / sum) : 1.0f;
  }
  return at;
}

void GreedyHead::project(ThreadPool& pool, const float* x, size_t ldx, int n, float* logits, size_t ldy,
                         int32_t* argmax, float* top_probability) {
  const int64_t K = exact_->cols;
  // The int8 logits of every row (the products run across the pool).
  PreparedInput input;
  input.reset(x, ldx, n, K);
  const MatMulJob job[] = {{&q8_, logits, ldy}};
  run_matmuls(pool, kt_, input, job);
  // The int8 activations the product used.
  const size_t stride = kernels::input_row_bytes(kernels::InputFormat::Q8, K);
  const uint8_t* xq = input.q8_rows(kt_);
  // Candidates and their exact logits, rows split across the pool.
  std::vector<Stats> per_slice(static_cast<size_t>(pool.size()));
  const auto work = [&](int t, int nt) {
    int64_t begin, end;
    ThreadPool::split(n, 1, t, nt, begin, end);
    Scratch scratch;
    for (int64_t r = begin; r < end; ++r)
      argmax[r] = refine(x + static_cast<size_t>(r) * ldx, xq + static_cast<size_t>(r) * stride,
                         logits + static_cast<size_t>(r) * ldy, scratch, per_slice[static_cast<size_t>(t)],
                         top_probability ? top_probability + r : nullptr);
  };
  if (n == 1)
    work(0, 1);
  else
    pool.run(work);
  for (const Stats& s : per_slice) {
    stats_.rows += s.rows;
    stats_.candidates += s.candidates;
    stats_.full_rows += s.full_rows;
  }
}

}  // namespace aded
