#include <string>

#include "aded/error.h"
#include "aded/model_drafters.h"

namespace aded {

void DraftExit::update(int drafted, int accepted, bool full) {
  if (!o_.adaptive || drafted <= 0) return;
  rate_ = o_.rate_smoothing * rate_ + (1 - o_.rate_smoothing) * static_cast<float>(accepted) / static_cast<float>(drafted);
  float moved = threshold_;
  if (rate_ < o_.target_rate)
    moved = threshold_ + o_.step;
  else if (!full)
    moved = threshold_ - o_.step;
  threshold_ = o_.threshold_smoothing * threshold_ + (1 - o_.threshold_smoothing) * moved;
}

}  // namespace aded
