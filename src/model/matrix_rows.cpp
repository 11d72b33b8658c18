#include "model/matrix_rows.h"

#include "core/kernels/packing.h"

namespace aded {

const uint8_t* matrix_row(const Matrix& m, int64_t r, std::vector<uint8_t>& scratch) {
  if (m.data) return m.data + static_cast<size_t>(r) * m.row_bytes;
  scratch.resize(m.row_bytes);
  kernels::unpack_matrix_row(m.type, m.packed, m.cols, r, scratch.data());
  return scratch.data();
}

}  // namespace aded
