#include "model/matrix_rows.h"

#include "core/kernels/packing.h"

namespace aded {

const uint8_t* matrix_row(const Matrix& m, int64_t r, std::vector<uint8_t>& scratch) {
  if (m.data) return m.data + static_cast<size_t>(r) * m.row_bytes;
  scratch.resize(m.row_bytes);
  const size_t group_bytes = kernels::packed_group_bytes(kernels::pack_format(m.type), m.cols);
  kernels::unpack_row(m.type, m.packed + static_cast<size_t>(r / kernels::kPackRows) * group_bytes,
                      static_cast<int>(r % kernels::kPackRows), m.cols, scratch.data());
  return scratch.data();
}

}  // namespace aded
