#include "aded/confidence_calibration.h"

#include <algorithm>

namespace aded {

int ConfidenceCalibration::bucket(float confidence) {
  return std::clamp(static_cast<int>(confidence * kBuckets), 0, kBuckets - 1);
}

double ConfidenceCalibration::acceptance(float confidence) const {
  const auto b = static_cast<size_t>(bucket(confidence));
  return (hits_[b] + kPriorWeight * confidence) / (trials_[b] + kPriorWeight);
}

void ConfidenceCalibration::record(float confidence, bool accepted) {
  for (size_t b = 0; b < kBuckets; ++b) {
    hits_[b] *= kDecay;
    trials_[b] *= kDecay;
  }
  const auto b = static_cast<size_t>(bucket(confidence));
  trials_[b] += 1;
  hits_[b] += accepted ? 1 : 0;
}

}  // namespace aded
