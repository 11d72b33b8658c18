// aded repack: a GGUF whose weight matrices are already in the SIMD kernels' layout. Loading
// such a file maps the matrices where they are: no packed copy to allocate and fill, which on a
// fresh process is most of the startup (the kernel zeroes every new page before it is written).
#include <algorithm>
#include <thread>

#include "aded/error.h"
#include "aded/gguf.h"
#include "aded/model.h"
#include "aded/model_tools.h"
#include "aded/thread_pool.h"
#include "core/kernels/packing.h"
#include "core/output_target.h"
#include "gguf/gguf_keys.h"

namespace aded {

std::string RepackReport::summary() const {
  const size_t matrices = packed.size() + already.size() + kept.size();
  std::string s = fmt::format("packed {} of {} weight matrices", packed.size(), matrices);
  if (!already.empty()) s += fmt::format("; {} already were", already.size());
  if (kept.empty()) return s;
  s += fmt::format("; {} kept {} layout (no packed form):", kept.size(), kept.size() == 1 ? "its" : "their");
  constexpr size_t kListed = 6;
  for (size_t i = 0; i < std::min(kept.size(), kListed); ++i)
    s += fmt::format("{} {} ({})", i ? "," : "", kept[i].name, tensor_type_name(kept[i].type));
  if (kept.size() > kListed) s += fmt::format(", and {} more", kept.size() - kListed);
  return s;
}

namespace {

bool is_weight_matrix(const GgufTensor& t) {
  return t.dims.size() == 2 && t.name.size() > 7 && t.name.compare(t.name.size() - 7, 7, ".weight") == 0 &&
         t.name != "token_embd.weight";  // read row by row: stays in rows
}

// A fused tensor (Phi-3's qkv, gate+up) is split by rows into the model's matrices; packed, it
// can be split only between groups of 16 rows. Checked before anything is written.
void check_splits(const Model& model, const std::string& path) {
  std::vector<const Matrix*> matrices{&model.output()};
  for (const LayerWeights& l : model.layers())
    for (const Matrix* m : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) matrices.push_back(m);
  for (const Matrix* m : matrices) {
    if (m->rows == 0 || !m->data || kernels::pack_format(m->type) == kernels::PackFormat::None) continue;
    for (const GgufTensor& t : model.gguf().tensors()) {
      if (m->data < t.data || m->data >= t.data + t.nbytes || !is_weight_matrix(t)) continue;
      const auto first = static_cast<int64_t>(static_cast<size_t>(m->data - t.data) / m->row_bytes);
      if (first % kernels::kPackRows != 0)
        fail("{}: tensor '{}' is split at row {}, inside a group of {} rows of the packed layout: "
             "this model cannot be repacked (run the file as it is)",
             path, t.name, first, kernels::kPackRows);
    }
  }
}

}  // namespace

RepackReport repack_model(const std::string& in_path, const std::string& out_path,
                          std::function<void(const std::string&, size_t, size_t)> progress) {
  check_output_file(out_path, {in_path});
  // The input must be a model this engine runs: its matrices are then exactly the ones packed.
  const std::shared_ptr<const Model> model = Model::load(in_path);
  const GgufFile& in = model->gguf();
  GgufWriter w;
  w.copy_metadata(in);
  w.set_alignment(64);  // the kernels read packed groups at 64-byte boundaries
  check_splits(*model, in_path);
  ThreadPool pool(std::max(1, static_cast<int>(std::thread::hardware_concurrency())));
  RepackReport report;
  const size_t total = in.tensors().size();
  for (size_t i = 0; i < total; ++i) {
    const GgufTensor& t = in.tensors()[i];
    const std::span<const uint8_t> bytes{t.data, t.nbytes};
    if (t.packed) {
      report.already.push_back(t.name);
      w.add_packed_tensor(t.name, t.type, t.dims, [bytes](std::span<uint8_t> out) {
        std::copy(bytes.begin(), bytes.end(), out.begin());
      });
      continue;
    }
    if (!is_weight_matrix(t)) {
      w.add_tensor_bytes(t.name, t.type, t.dims, bytes);
      continue;
    }
    if (kernels::pack_format(t.type) == kernels::PackFormat::None) {
      report.kept.push_back({t.name, t.type});
      w.add_tensor_bytes(t.name, t.type, t.dims, bytes);
      continue;
    }
    report.packed.push_back(t.name);
    const int64_t cols = t.dims[0], rows = t.dims[1];
    const size_t row_bytes = t.nbytes / static_cast<size_t>(rows);
    w.add_packed_tensor(t.name, t.type, t.dims, [&t, &pool, &progress, cols, rows, row_bytes, i, total](std::span<uint8_t> out) {
      if (progress) progress(t.name, i, total);
      const size_t group_bytes = kernels::packed_group_bytes(kernels::pack_format(t.type), cols);
      const int64_t groups = (rows + kernels::kPackRows - 1) / kernels::kPackRows;
      pool.run([&](int th, int nt) {
        int64_t begin, end;
        ThreadPool::split(groups, 1, th, nt, begin, end);
        for (int64_t g = begin; g < end; ++g) {
          const int64_t r0 = g * kernels::kPackRows;
          const int count = static_cast<int>(std::min<int64_t>(kernels::kPackRows, rows - r0));
          kernels::pack_group(t.type, t.data + static_cast<size_t>(r0) * row_bytes, row_bytes, count, cols,
                              out.data() + static_cast<size_t>(g) * group_bytes);
        }
      });
    });
  }
  if (report.packed.empty() && report.already.empty())
    fail("{}: none of its weight matrices has a packed layout (types with one: F32, F16, BF16, Q8_0, "
         "Q5_0, Q4_0): repacking would only copy it",
         in_path);
  report.bytes_written = w.write(out_path);
  return report;
}

}  // namespace aded
