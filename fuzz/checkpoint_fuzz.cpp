// libFuzzer target: training checkpoints. The reader on arbitrary bytes (GGUF parsing, every
// metadata value, the tensors, the checksum), then what resuming does with an accepted one: the
// shape check against the run's model and the optimizer state restored and stepped once.
// Untrusted bytes may only be refused with aded::InputError; anything else is a bug.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "aded/error.h"
#include "aded/gguf.h"
#include "aded/mapped_file.h"
#include "aded/thread_pool.h"
#include "seed_shapes.h"
#include "train/adamw.h"
#include "train/checkpoint.h"
#include "train/parameter_layout.h"

namespace {

void check(bool ok, const char* invariant) {
  if (ok) return;
  std::fprintf(stderr, "checkpoint_fuzz: invariant violated: %s\n", invariant);
  std::abort();
}

// The run resumes the model the seeds are checkpoints of.
aded::ModelConfig run_shape() {
  return aded::fuzz::checkpoint_shape();
}

void resume(const aded::train::Checkpoint& c) {
  aded::train::check_resumable(c, run_shape(), "fuzz.ckpt");
  const aded::train::ParameterLayout layout(c.shape);
  check(c.params.size() == layout.size() && c.adam_m.size() == layout.size() &&
            c.adam_v.size() == layout.size(),
        "arrays fit the shape");
  for (size_t i = 0; i < c.params.size(); ++i)
    check(std::isfinite(c.params[i]) && std::isfinite(c.adam_m[i]) && c.adam_v[i] >= 0 &&
              std::isfinite(c.adam_v[i]),
          "weights and moments are finite, second moments >= 0");
  static aded::ThreadPool pool(1);
  aded::train::AdamW adam(layout, {0.9f, 0.95f, 1e-8f, 0.1f});
  adam.restore(c.state.step, c.adam_m, c.adam_v);
  std::vector<float> params = c.params, grads(params.size(), 0.0f);
  adam.step(pool, params, grads, 1e-3f, 1.0f);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto file = aded::GgufFile::parse(
        aded::MappedFile::from_bytes(std::vector<uint8_t>(data, data + size), "fuzz.ckpt"));
    resume(aded::train::load_checkpoint(file));
  } catch (const aded::InputError&) {
  }
  return 0;
}
