// Model::pack_weights: the matrices in the SIMD kernels' layout (src/core/kernels/packing.h),
// made once per model the first time a context that uses them is created. The packed copy
// replaces the file's pages in memory (they are released), so memory use stays one copy.
// Every matrix is checked for non-finite values on the way (weight_check.h): it is read here
// anyway, and a NaN or infinite weight can only give NaN or garbage tokens.
#include <mutex>

#include "aded/error.h"
#include "aded/model.h"
#include "core/kernels/packing.h"
#include "model/weight_check.h"

namespace aded {

struct Model::Packed {
  std::once_flag once;
  std::vector<std::unique_ptr<kernels::PackedWeights>> buffers;
  uint64_t bytes = 0;
  std::string error;  // why the weights cannot be used (every later call throws it again)
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

}  // namespace

void Model::pack_weights() const {
  std::call_once(packed_->once, [this] {
    // Models are created non-const (from_gguf) and shared as const; the packed copies are a cache
    // of the weights, written once under call_once before any reader sees them.
    Model& self = const_cast<Model&>(*this);
    const auto pack = [&](Matrix& m) {
      if (m.rows == 0) return;  // a matrix this architecture lacks (StarCoder2's gate)
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
    } catch (const InputError& e) {
      packed_->error = e.what();
    }
  });
  if (!packed_->error.empty()) throw InputError(packed_->error);
}

uint64_t Model::packed_bytes() const { return packed_->bytes; }

}  // namespace aded
