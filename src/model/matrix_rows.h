// One row of a weight matrix in its type's row layout, wherever the matrix lives: in the file's
// rows, or (a matrix its file stores packed, from aded repack) unpacked from its group.
#pragma once

#include <cstdint>
#include <vector>

#include "aded/model.h"

namespace aded {

// A pointer to row r (m.row_bytes bytes), valid until scratch changes.
const uint8_t* matrix_row(const Matrix& m, int64_t r, std::vector<uint8_t>& scratch);

}  // namespace aded
