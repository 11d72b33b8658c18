// Finds values in a weight matrix that are not finite numbers. A float matrix is checked element
// by element; a quantized one by the f16 scales (and minimums) of its blocks, the only parts of
// it that can be non-finite (its quants are small integers). One pass over the bytes with
// integer compares only, so it costs about as much as reading the matrix once.
#pragma once

#include <cstdint>
#include <optional>

#include "aded/model.h"

namespace aded {

struct NonFiniteWeight {
  int64_t row = 0;
  int64_t column = 0;  // the element; for a quantized matrix the first element of the block
  float value = 0;     // the element, or the block's scale or minimum
};

// The first non-finite value of m in row order (for a matrix that comes packed from its file, in
// the packed layout's order), or nullopt.
std::optional<NonFiniteWeight> find_non_finite_weight(const Matrix& m);

}  // namespace aded
