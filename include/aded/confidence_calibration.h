// A drafter's confidence, calibrated online against what the target accepted: confidences in [0, 1]
// fall into equal buckets, each counting its nodes and the accepted ones with an exponential decay
// (recent behaviour matters most) and a prior at the confidence itself (an unmeasured bucket
// trusts the drafter). The budget controller keeps one per arm; the union drafter one per member,
// so members whose confidences mean different things can share a tree.
#pragma once

#include <array>

namespace aded {

class ConfidenceCalibration {
 public:
  static constexpr int kBuckets = 20;
  static constexpr double kPriorWeight = 2.0;  // pseudo-trials at the drafter's own confidence
  static constexpr double kDecay = 0.995;      // per recorded node

  // The estimated probability that a node of this confidence is accepted.
  double acceptance(float confidence) const;
  // One verified node: decays every bucket, then counts it in its own.
  void record(float confidence, bool accepted);

 private:
  static int bucket(float confidence);
  std::array<double, kBuckets> hits_{}, trials_{};
};

}  // namespace aded
