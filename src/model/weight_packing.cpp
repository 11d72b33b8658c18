// Model::pack_weights: the matrices in the SIMD kernels' layout (src/core/kernels/packing.h),
// made once per model the first time a context that uses them is created. The packed copy
// replaces the file's pages in memory (they are released), so memory use stays one copy.
#include <mutex>

#include "aded/model.h"
#include "core/kernels/packing.h"

namespace aded {

struct Model::Packed {
  std::once_flag once;
  std::vector<std::unique_ptr<kernels::PackedWeights>> buffers;
  uint64_t bytes = 0;
};

std::shared_ptr<Model::Packed> Model::new_packed_state() { return std::make_shared<Packed>(); }

void Model::pack_weights() const {
  std::call_once(packed_->once, [this] {
    // Models are created non-const (from_gguf) and shared as const; the packed copies are a cache
    // of the weights, written once under call_once before any reader sees them.
    Model& self = const_cast<Model&>(*this);
    const auto pack = [&](Matrix& m) {
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
    pack(self.output_);
    for (LayerWeights& l : self.layers_)
      for (Matrix* m : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) pack(*m);
  });
}

uint64_t Model::packed_bytes() const { return packed_->bytes; }

}  // namespace aded
