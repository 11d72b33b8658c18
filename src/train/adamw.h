// AdamW with decoupled weight decay (on matrices only), global-norm gradient clipping, and the
// learning-rate schedule: linear warm-up, then a cosine decay to a fraction of the peak.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "aded/thread_pool.h"
#include "train/parameter_layout.h"

namespace aded::train {

struct AdamWConfig {
  float beta1 = 0.9f;
  float beta2 = 0.95f;
  float eps = 1e-8f;
  float weight_decay = 0.1f;
};

class AdamW {
 public:
  AdamW(const ParameterLayout& layout, AdamWConfig config);

  // One update with gradient grads * grad_scale (grad_scale < 1 is how clipping is applied).
  void step(ThreadPool& pool, std::span<float> params, std::span<const float> grads, float lr,
            float grad_scale);

  uint64_t steps() const { return steps_; }
  std::span<float> first_moment() { return m_; }
  std::span<float> second_moment() { return v_; }
  std::span<const float> first_moment() const { return m_; }
  std::span<const float> second_moment() const { return v_; }
  // Restores a checkpointed state (moments of the layout's size).
  void restore(uint64_t steps, std::span<const float> m, std::span<const float> v);

 private:
  struct Segment {
    size_t offset, size;
    bool decay;
  };
  AdamWConfig config_;
  std::vector<Segment> segments_;
  std::vector<float> m_, v_;
  uint64_t steps_ = 0;
};

// sqrt(sum of squares), accumulated in double in a fixed order for a given thread count.
double global_norm(ThreadPool& pool, std::span<const float> values);
// The factor that brings a gradient of norm `norm` down to max_norm (1 when it already is).
float clip_scale(double norm, float max_norm);

struct LrSchedule {
  float peak = 8e-4f;
  int64_t warmup_steps = 30;
  float final_fraction = 0.1f;  // the cosine ends at peak * final_fraction
};
// Learning rate of 0-based step `step`; progress in [0, 1] is how far the run is (by steps or by
// time): warm-up for the first warmup_steps, then the cosine over the rest of the progress.
float learning_rate(const LrSchedule& schedule, int64_t step, double progress);

}  // namespace aded::train
