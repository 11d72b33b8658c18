// The output projection for greedy decoding. Greedy decoding needs only the argmax of each row's
// logits, and with a float output matrix most of a step's arithmetic (and, for one token, most of
// its memory traffic) is that matrix. GreedyHead keeps an int8 copy of it (Q8_0, a quarter of the
// F32 bytes, multiplied with the VNNI kernels) and, per output row, the numbers that bound how far
// an int8 logit can be from the exact one. For each activation row it computes the int8 logits,
// keeps every token whose upper bound reaches the best lower bound (the exact argmax is always
// among them, ties included), and computes exactly those tokens' logits with the canonical float
// rule — bitwise what the full product gives them. The other tokens get -inf, so the first index
// of the maximum is the same token as over the full logits.
//
// The bound, for logit j of row h (W: the float row, Ŵ, ĥ: the dequantized int8 copies):
//   |exact - int8| <= e_h |W|_1 + e_W |ĥ|_1 + γ (|h|_1 + |ĥ|_1) (max|W| + e_W)
// where e_h, e_W are the largest element errors of the two quantizations and γ covers the
// rounding of both float accumulations (K + K/32 + 1 operations at most, unit roundoff 2^-24).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "aded/model.h"
#include "aded/thread_pool.h"
#include "core/kernels/kernels.h"
#include "core/kernels/packing.h"

namespace aded {

class GreedyHead {
 public:
  // nullptr when the matrix is not F32, F16 or BF16, or its width is not a multiple of 32.
  static std::unique_ptr<GreedyHead> build(const Matrix& output, const kernels::KernelTable& kt);

  struct Stats {
    int64_t rows = 0;        // activation rows projected
    int64_t candidates = 0;  // tokens computed exactly, over all rows
    int64_t full_rows = 0;   // rows computed in full (non-finite values)
  };

  // x: n rows of K floats (stride ldx); logits: n rows of `rows()` floats (stride ldy), exact at
  // every token that can be the argmax of the exact logits and below it at every other token.
  // argmax[r]: the first index of row r's largest logit (what a scan of the row would find; the
  // head knows it from its candidates, and a scan would read the whole row back).
  // top_probability (optional): per row, the softmax probability of the argmax, estimated from
  // the exact logits of the candidates and the int8 logits of every token within kNearLogits of
  // the top (the rest weigh less than e^-kNearLogits each). Rows then keep those int8 logits
  // (still below the maximum) instead of -inf, for a drafter that wants to know how sure it is.
  static constexpr float kNearLogits = 20.0f;
  // Top probabilities below this are reported as some value below it (no exit rule draws finer
  // distinctions down there).
  static constexpr double kLeastTopProbability = 0.05;
  void project(ThreadPool& pool, const float* x, size_t ldx, int n, float* logits, size_t ldy, int32_t* argmax,
               float* top_probability = nullptr);

  const Stats& stats() const { return stats_; }
  int64_t rows() const { return exact_->rows; }
  // Bytes of the int8 copy a projection streams (the float matrix is read only for candidates).
  uint64_t bytes() const { return static_cast<uint64_t>(q8_.row_bytes) * static_cast<uint64_t>(q8_.rows); }

 private:
  GreedyHead(const Matrix& output, const kernels::KernelTable& kt);
  // Row r of the activations against every output row: exact logits (the fallback).
  void project_exact(const float* x, float* y) const;
  struct Scratch {
    std::vector<int32_t> keep;   // tokens past the cut
    std::vector<float> row_f32;  // a dequantized F16/BF16 row
  };
  // Candidate selection and exact recompute for one activation row whose int8 logits are in y.
  // Returns the row's argmax.
  int32_t refine(const float* x, const uint8_t* xq, float* y, Scratch& scratch, Stats& stats,
                 float* top_probability) const;
  // Exact logit of output row j (the canonical float rule).
  float exact_logit(int64_t j, const float* x, std::vector<float>& row_f32) const;

  const Matrix* exact_;
  const kernels::KernelTable& kt_;
  std::vector<uint8_t> q8_data_;
  std::unique_ptr<kernels::PackedWeights> q8_packed_;
  Matrix q8_;
  // Per output row: sum |W|, largest |W - Ŵ|, largest |W| + largest |W - Ŵ| (rounded up).
  std::vector<float> l1_, err_, reach_;
  float l1_max_ = 0, err_max_ = 0, reach_max_ = 0;  // their largest values
  Stats stats_;
};

}  // namespace aded
