// Model::pack_weights: the matrices in the SIMD kernels' layout (src/core/kernels/packing.h),
// made once per model the first time a context that uses them is created. The packed copy
// replaces the file's pages in memory (they are released), so memory use stays one copy.
// Every matrix is checked for non-finite values on the way (weight_check.h): it is read here
// anyway, and a NaN or infinite weight can only give NaN or garbage tokens.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>

#include "aded/error.h"
#include "aded/model.h"
#include "core/kernels/packing.h"
#include "model/weight_check.h"

namespace aded {

struct Model::Packed {
  std::once_flag once, unpack_once;
  std::vector<std::unique_ptr<kernels::PackedWeights>> buffers;
  std::vector<std::vector<uint8_t>> rows;  // row-major copies of matrices the file stores packed
  uint64_t bytes = 0;
  double seconds = 0;  // spent packing copies
  std::string error;  // why the weights cannot be used (every later call throws it again)
  std::string unpack_error;  // the same for unpack_weights
};

std::shared_ptr<Model::Packed> Model::new_packed_state() { return std::make_shared<Packed>(); }

namespace {

void check_finite(const Matrix& m, const std::string& path) {
  const auto bad = find_non_finite_weight(m);
  if (!bad) return;
  const bool quantized = tensor_type_info(m.type).block_size > 1;
  fail("{}: tensor '{}' holds {} {} row {}, column {}: the weights are damaged (not finite "
       "numbers) and could only give garbage",
       path, m.name, bad->value, quantized ? "as the scale of the block at" : "at", bad->row,
       bad->column);
}

// The check of matrices used where the file maps them is all their load costs: on every core,
// the first damaged matrix in model order reported whatever thread finds it.
void check_finite_in_parallel(const std::vector<const Matrix*>& matrices, const std::string& path) {
  std::vector<std::optional<NonFiniteWeight>> found(matrices.size());
  std::atomic<size_t> next{0};
  const auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < matrices.size();) found[i] = find_non_finite_weight(*matrices[i]);
  };
  const unsigned helpers = std::min<unsigned>(std::max(1u, std::thread::hardware_concurrency()), 8) - 1;
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < helpers; ++t) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < matrices.size(); ++i)
    if (found[i]) check_finite(*matrices[i], path);  // throws, naming the value and its place
}

}  // namespace

void Model::pack_weights() const {
  std::call_once(packed_->once, [this] {
    // Models are created non-const (from_gguf) and shared as const; the packed copies are a cache
    // of the weights, written once under call_once before any reader sees them.
    Model& self = const_cast<Model&>(*this);
    const auto start = std::chrono::steady_clock::now();
    std::vector<const Matrix*> mapped;  // packed in the file (aded repack): only checked
    const auto pack = [&](Matrix& m) {
      if (m.rows == 0) return;  // a matrix this architecture lacks (StarCoder2's gate)
      if (m.packed) {
        if (!m.data) mapped.push_back(&m);
        return;
      }
      check_finite(m, file_.path());
      if (kernels::pack_format(m.type) == kernels::PackFormat::None) return;
      auto p = std::make_unique<kernels::PackedWeights>(m.type, m.data, m.row_bytes, m.rows, m.cols);
      m.packed = p->data();
      // The file's copy is not read again (but for the embedding rows of a tied output): let the
      // OS drop its pages, so the process holds the weights once.
      if (m.data != token_embd_.data)
        file_.file()->release(m.data, static_cast<size_t>(m.rows) * m.row_bytes);
      packed_->bytes += p->bytes();
      packed_->buffers.push_back(std::move(p));
    };
    try {
      // The embedding table stays in the file (a tied output is checked with it).
      if (token_embd_.data != output_.data) check_finite(token_embd_, file_.path());
      pack(self.output_);
      for (LayerWeights& l : self.layers_)
        for (Matrix* m : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) pack(*m);
      check_finite_in_parallel(mapped, file_.path());
    } catch (const InputError& e) {
      packed_->error = e.what();
    }
    if (packed_->bytes > 0) packed_->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  });
  if (!packed_->error.empty()) throw InputError(packed_->error);
}

void Model::unpack_weights() const {
  std::call_once(packed_->unpack_once, [this] {
    Model& self = const_cast<Model&>(*this);
    const auto unpack = [&](Matrix& m) {
      if (m.rows == 0 || m.data || !m.packed) return;
      std::vector<uint8_t> rows(static_cast<size_t>(m.rows) * m.row_bytes);
      for (int64_t r = 0; r < m.rows; ++r)
        kernels::unpack_matrix_row(m.type, m.packed, m.cols, r, rows.data() + static_cast<size_t>(r) * m.row_bytes);
      m.data = rows.data();
      packed_->rows.push_back(std::move(rows));
      check_finite(m, file_.path());
    };
    try {
      unpack(self.output_);
      for (LayerWeights& l : self.layers_)
        for (Matrix* m : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) unpack(*m);
    } catch (const InputError& e) {
      packed_->unpack_error = e.what();
    }
  });
  if (!packed_->unpack_error.empty()) throw InputError(packed_->unpack_error);
}

bool Model::file_is_packed() const {
  return std::any_of(file_.tensors().begin(), file_.tensors().end(), [](const GgufTensor& t) { return t.packed; });
}

double Model::packing_seconds() const { return packed_->seconds; }

uint64_t Model::packed_bytes() const { return packed_->bytes; }

}  // namespace aded
