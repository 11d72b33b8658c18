#include "train/adamw.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "aded/error.h"
#include "train/vector_kernels.h"

namespace aded::train {

AdamW::AdamW(const ParameterLayout& layout, AdamWConfig config)
    : config_(config), m_(layout.size(), 0.0f), v_(layout.size(), 0.0f) {
  for (const ParameterTensor& t : layout.tensors())
    segments_.push_back({t.offset, t.size(), t.is_matrix});
}

void AdamW::restore(uint64_t steps, std::span<const float> m, std::span<const float> v) {
  if (m.size() != m_.size() || v.size() != v_.size())
    fail("optimizer state of {} / {} values does not match the model's {}", m.size(), v.size(),
         m_.size());
  std::copy(m.begin(), m.end(), m_.begin());
  std::copy(v.begin(), v.end(), v_.begin());
  steps_ = steps;
}

void AdamW::step(ThreadPool& pool, std::span<float> params, std::span<const float> grads, float lr,
                 float grad_scale) {
  ++steps_;
  const double t = static_cast<double>(steps_);
  AdamWConstants c{};
  c.beta1 = config_.beta1;
  c.beta2 = config_.beta2;
  c.eps = config_.eps;
  c.grad_scale = grad_scale;
  c.step_size = static_cast<float>(lr / (1.0 - std::pow(static_cast<double>(config_.beta1), t)));
  c.inv_sqrt_bc2 =
      static_cast<float>(1.0 / std::sqrt(1.0 - std::pow(static_cast<double>(config_.beta2), t)));
  const float decay = 1.0f - lr * config_.weight_decay;
  pool.run([&](int th, int nt) {
    for (const Segment& s : segments_) {
      int64_t begin, end;
      ThreadPool::split(static_cast<int64_t>(s.size), 64, th, nt, begin, end);
      if (begin >= end) continue;
      AdamWConstants seg = c;
      seg.keep = s.decay ? decay : 1.0f;
      const size_t at = s.offset + static_cast<size_t>(begin);
      adamw_update(params.data() + at, grads.data() + at, m_.data() + at, v_.data() + at,
                   static_cast<size_t>(end - begin), seg);
    }
  });
}

double global_norm(ThreadPool& pool, std::span<const float> values) {
  std::vector<double> partial(static_cast<size_t>(pool.size()), 0.0);
  pool.run([&](int t, int nt) {
    int64_t begin, end;
    ThreadPool::split(static_cast<int64_t>(values.size()), 1024, t, nt, begin, end);
    // Float partial sums over short runs, then double: fast and accurate enough for a norm.
    double sum = 0;
    for (int64_t i = begin; i < end; i += 1024) {
      float run_sum = 0;
      const int64_t stop = std::min(end, i + 1024);
      for (int64_t j = i; j < stop; ++j)
        run_sum += values[static_cast<size_t>(j)] * values[static_cast<size_t>(j)];
      sum += run_sum;
    }
    partial[static_cast<size_t>(t)] = sum;
  });
  double total = 0;
  for (double p : partial) total += p;
  return std::sqrt(total);
}

float clip_scale(double norm, float max_norm) {
  if (max_norm <= 0 || !(norm > max_norm)) return 1.0f;
  return static_cast<float>(max_norm / (norm + 1e-6));
}

float learning_rate(const LrSchedule& s, int64_t step, double progress) {
  if (step < s.warmup_steps)
    return s.peak * static_cast<float>(step + 1) / static_cast<float>(s.warmup_steps);
  const double p = std::clamp(progress, 0.0, 1.0);
  const double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * p));
  return static_cast<float>(s.peak * (s.final_fraction + (1.0 - s.final_fraction) * cosine));
}

}  // namespace aded::train
