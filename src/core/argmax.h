// The first index of a row's largest value, shared by greedy sampling and the greedy head.
#pragma once

#include <cstdint>
#include <span>

namespace aded {

// NaN never wins; 0 when nothing beats -inf.
int32_t argmax(std::span<const float> v);

}  // namespace aded
