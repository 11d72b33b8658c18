#include <algorithm>
#include <cstring>
#include <thread>

#include "aded/error.h"
#include "aded/gguf.h"
#include "aded/model_tools.h"
#include "aded/thread_pool.h"
#include "core/kernels/packing.h"
#include "core/output_target.h"
#include "core/quant/quant.h"
#include "gguf/gguf_keys.h"

namespace aded {

std::string QuantizeReport::summary(TensorType type) const {
  const size_t matrices = converted.size() + unchanged.size() + kept.size();
  std::string s = fmt::format("quantized {} of {} weight matrices to {}", converted.size(), matrices,
                              tensor_type_name(type));
  if (!unchanged.empty()) s += fmt::format("; {} already were", unchanged.size());
  if (kept.empty()) return s;
  s += fmt::format("; {} kept their type (rows not a multiple of {}):", kept.size(),
                   tensor_type_info(type).block_size);
  constexpr size_t kListed = 6;
  for (size_t i = 0; i < std::min(kept.size(), kListed); ++i)
    s += fmt::format("{} {} ({}, rows of {})", i ? "," : "", kept[i].name,
                     tensor_type_name(kept[i].type), kept[i].row_length);
  if (kept.size() > kListed) s += fmt::format(", and {} more", kept.size() - kListed);
  return s;
}

QuantizeReport quantize_model(const std::string& in_path, const std::string& out_path, const QuantizeOptions& o) {
  if (!quant::can_quantize(o.type))
    fail("cannot quantize to {} (supported: F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K)",
         tensor_type_name(o.type));
  // Before the work: a folder, a missing folder or the input itself (by inode, whatever the
  // spelling) would fail or be lost only at the end.
  check_output_file(out_path, {in_path});
  const GgufFile in = GgufFile::open(in_path);
  if (!in.find(kArchitectureKey)) fail("{}: not a model (no {})", in_path, kArchitectureKey);
  GgufWriter w;
  w.copy_metadata(in);
  w.set_u32(kFileTypeKey, file_type_code(o.type));
  ThreadPool pool(std::max(1, static_cast<int>(std::thread::hardware_concurrency())));
  const size_t total = in.tensors().size();
  QuantizeReport report;
  for (size_t t = 0; t < total; ++t) {
    const GgufTensor& src = in.tensors()[t];
    const bool matrix = src.dims.size() == 2 && src.name.size() > 7 &&
                        src.name.compare(src.name.size() - 7, 7, ".weight") == 0;
    const bool convertible = matrix && row_bytes(o.type, src.dims[0]).has_value();
    if (matrix && src.type == o.type) report.unchanged.push_back(src.name);
    if (matrix && !convertible) report.kept.push_back({src.name, src.type, src.dims[0]});
    // A matrix stored packed (aded repack) is read back row by row; the output stores rows.
    const size_t src_rb = src.packed ? *row_bytes(src.type, src.dims[0]) : src.nbytes / static_cast<size_t>(src.rows());
    const auto src_row = [&src, src_rb](int64_t r, std::vector<uint8_t>& scratch) -> const uint8_t* {
      if (!src.packed) return src.data + static_cast<size_t>(r) * src_rb;
      scratch.resize(src_rb);
      kernels::unpack_matrix_row(src.type, src.data, src.dims[0], r, scratch.data());
      return scratch.data();
    };
    if ((!convertible || src.type == o.type) && !src.packed) {
      w.add_tensor_bytes(src.name, src.type, src.dims, {src.data, src.nbytes});
      continue;
    }
    if (!convertible || src.type == o.type) {
      w.add_tensor(src.name, src.type, src.dims, [src_row, src_rb, rows = src.rows()](std::span<uint8_t> out) {
        std::vector<uint8_t> scratch;
        for (int64_t r = 0; r < rows; ++r)
          std::memcpy(out.data() + static_cast<size_t>(r) * src_rb, src_row(r, scratch), src_rb);
      });
      continue;
    }
    report.converted.push_back(src.name);
    if (!tensor_type_info(src.type).can_compute)
      fail("{}: tensor '{}' has type {}, which cannot be converted", in_path, src.name, tensor_type_name(src.type));
    const int64_t cols = src.dims[0], rows = src.rows();
    const size_t dst_rb = *row_bytes(o.type, cols);
    const TensorType dst_type = o.type;
    const std::string name = src.name;
    const auto progress = o.progress;
    w.add_tensor(src.name, dst_type, src.dims, [&src, &pool, src_row, cols, rows, dst_rb, dst_type, name, progress, t,
                                                total](std::span<uint8_t> out) {
      if (progress) progress(name, t, total);
      pool.run([&](int th, int nt) {
        int64_t begin, end;
        ThreadPool::split(rows, 1, th, nt, begin, end);
        std::vector<float> row(static_cast<size_t>(cols));
        std::vector<uint8_t> scratch;
        for (int64_t r = begin; r < end; ++r) {
          quant::dequantize_row(src.type, src_row(r, scratch), row.data(), cols);
          quant::quantize_row(dst_type, row.data(), out.data() + static_cast<size_t>(r) * dst_rb, cols);
        }
      });
    });
  }
  // A file labelled with the type whose matrices all kept another one would claim what it is not.
  if (report.converted.empty() && report.unchanged.empty()) {
    if (report.kept.empty()) fail("{}: no weight matrices to quantize", in_path);
    const auto& k = report.kept.front();
    fail("{}: no weight matrix can be quantized to {}: its blocks of {} elements do not divide "
         "the rows (e.g. '{}' has rows of {}); try a type with 32-element blocks (Q8_0, Q5_0, "
         "Q4_0)",
         in_path, tensor_type_name(o.type), tensor_type_info(o.type).block_size, k.name,
         k.row_length);
  }
  report.bytes_written = w.write(out_path);
  return report;
}

}  // namespace aded
