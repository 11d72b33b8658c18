#include "train/checkpoint.h"

#include <xxhash.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "aded/error.h"
#include "aded/gguf.h"
#include "train/parameter_layout.h"

namespace aded::train {

namespace {

constexpr uint32_t kVersion = 1;
const char* const kTensors[] = {"params", "adam.m", "adam.v"};

// The model's shape is stored as these numbers; the rest of it follows by convention
// (ModelConfig::fill_conventions), as for every model the trainer makes.
struct ShapeKey {
  const char* key;
  int ModelConfig::*field;
};
constexpr ShapeKey kShapeKeys[] = {
    {"aded.checkpoint.dim", &ModelConfig::dim},
    {"aded.checkpoint.layers", &ModelConfig::n_layers},
    {"aded.checkpoint.heads", &ModelConfig::n_heads},
    {"aded.checkpoint.kv_heads", &ModelConfig::n_kv_heads},
    {"aded.checkpoint.hidden", &ModelConfig::hidden_dim},
    {"aded.checkpoint.vocab", &ModelConfig::n_vocab},
    {"aded.checkpoint.ctx", &ModelConfig::ctx_train},
};
constexpr const char* kTiedOutputKey = "aded.checkpoint.tied_output";

uint64_t checksum(std::span<const float> a, std::span<const float> b, std::span<const float> c) {
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  for (auto s : {a, b, c}) XXH3_64bits_update(state, s.data(), s.size_bytes());
  const uint64_t h = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  return h;
}

}  // namespace

void save_checkpoint(const std::string& path, const ModelConfig& shape, const TrainSettings& s,
                     const TrainState& st, std::span<const float> params,
                     std::span<const float> adam_m, std::span<const float> adam_v) {
  GgufWriter w;
  w.set_u32("aded.checkpoint.version", kVersion);
  for (const ShapeKey& k : kShapeKeys) w.set_u32(k.key, static_cast<uint32_t>(shape.*k.field));
  w.set_bool(kTiedOutputKey, shape.tied_output);
  w.set_u32("aded.train.batch", static_cast<uint32_t>(s.batch));
  w.set_f32("aded.train.lr", s.lr);
  w.set_u64("aded.train.warmup_steps", static_cast<uint64_t>(s.warmup_steps));
  w.set_u64("aded.train.steps", static_cast<uint64_t>(s.steps));
  w.set_u64("aded.train.minutes_ms", static_cast<uint64_t>(s.minutes * 60000.0));
  w.set_f32("aded.train.min_lr_fraction", s.min_lr_fraction);
  w.set_f32("aded.train.weight_decay", s.weight_decay);
  w.set_f32("aded.train.beta1", s.beta1);
  w.set_f32("aded.train.beta2", s.beta2);
  w.set_f32("aded.train.grad_clip", s.grad_clip);
  w.set_u64("aded.train.seed", s.seed);
  w.set_u64("aded.train.step", st.step);
  w.set_u64("aded.train.elapsed_us", static_cast<uint64_t>(st.elapsed_seconds * 1e6));
  w.set_u64("aded.train.tokens_seen", st.tokens_seen);
  w.set_u64("aded.train.corpus_key", st.corpus_key);
  w.set_u64("aded.checkpoint.checksum", checksum(params, adam_m, adam_v));
  const std::span<const float> arrays[] = {params, adam_m, adam_v};
  for (int i = 0; i < 3; ++i) {
    const auto bytes = std::as_bytes(arrays[i]);
    w.add_tensor_bytes(kTensors[i], TensorType::F32, {static_cast<int64_t>(arrays[i].size())},
                       {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  }
  w.write(path);
}

Checkpoint load_checkpoint(const std::string& path) { return load_checkpoint(GgufFile::open(path)); }

namespace {

// Every value the reader takes from the file is range-checked here: an edited checkpoint whose
// checksum still matches must be refused, not trusted.
class CheckpointReader {
 public:
  explicit CheckpointReader(const GgufFile& f) : f_(f), path_(f.path()) {}

  Checkpoint read() {
    if (!f_.find("aded.checkpoint.version"))
      fail("{}: not an aded training checkpoint (no aded.checkpoint.version)", path_);
    if (f_.get_uint("aded.checkpoint.version") != kVersion)
      fail("{}: checkpoint version {} is not supported (this build reads {})", path_,
           f_.get_uint("aded.checkpoint.version"), kVersion);
    read_shape();
    read_settings();
    read_state();
    read_arrays();
    return std::move(c_);
  }

 private:
  // Counts up to 2^30 (ModelConfig::validate narrows the shape's further).
  int small(const char* key) const {
    const uint64_t v = f_.get_uint(key);
    if (v > (1u << 30)) fail("{}: {} = {} is out of range", path_, key, v);
    return static_cast<int>(v);
  }

  // Step and token counters, kept below 2^62 so that the trainer's int64 arithmetic on them
  // (the schedule's progress, steps left) cannot overflow.
  uint64_t counter(const char* key) const {
    const uint64_t v = f_.get_uint(key);
    if (v > (uint64_t{1} << 62)) fail("{}: {} = {} is out of range", path_, key, v);
    return v;
  }

  float finite(const char* key) const {
    const double v = f_.get_float(key);
    if (!std::isfinite(v) || std::fabs(v) > std::numeric_limits<float>::max())
      fail("{}: {} = {} is not a finite number", path_, key, v);
    return static_cast<float>(v);
  }

  void read_shape() {
    for (const ShapeKey& k : kShapeKeys) c_.shape.*k.field = small(k.key);
    c_.shape.tied_output = f_.get_bool(kTiedOutputKey);
    c_.shape.fill_conventions();
    try {
      c_.shape.validate();
    } catch (const InputError& e) {
      fail("{}: the checkpoint's model shape is invalid: {}", path_, e.what());
    }
  }

  void read_settings() {
    TrainSettings& s = c_.settings;
    s.batch = small("aded.train.batch");
    s.lr = finite("aded.train.lr");
    s.warmup_steps = static_cast<int64_t>(counter("aded.train.warmup_steps"));
    s.steps = static_cast<int64_t>(counter("aded.train.steps"));
    s.minutes = static_cast<double>(counter("aded.train.minutes_ms")) / 60000.0;
    s.min_lr_fraction = finite("aded.train.min_lr_fraction");
    s.weight_decay = finite("aded.train.weight_decay");
    s.beta1 = finite("aded.train.beta1");
    s.beta2 = finite("aded.train.beta2");
    s.grad_clip = finite("aded.train.grad_clip");
    s.seed = f_.get_uint("aded.train.seed");
  }

  void read_state() {
    c_.state.step = counter("aded.train.step");
    c_.state.elapsed_seconds = static_cast<double>(counter("aded.train.elapsed_us")) * 1e-6;
    c_.state.tokens_seen = counter("aded.train.tokens_seen");
    c_.state.corpus_key = f_.get_uint("aded.train.corpus_key");
  }

  void read_arrays() {
    const size_t size = ParameterLayout(c_.shape).size();
    std::vector<float>* arrays[] = {&c_.params, &c_.adam_m, &c_.adam_v};
    for (int i = 0; i < 3; ++i) {
      const GgufTensor* t = f_.find_tensor(kTensors[i]);
      if (!t) fail("{}: the checkpoint has no tensor '{}'", path_, kTensors[i]);
      // Compared before anything is allocated: the tensor's size is bounded by the file's.
      if (t->type != TensorType::F32 || t->dims.size() != 1 ||
          static_cast<uint64_t>(t->elements()) != size)
        fail("{}: checkpoint tensor '{}' does not fit the model shape ({})", path_, kTensors[i],
             c_.shape.describe());
      arrays[i]->resize(size);
      std::memcpy(arrays[i]->data(), t->data, size * sizeof(float));
    }
    if (checksum(c_.params, c_.adam_m, c_.adam_v) != f_.get_uint("aded.checkpoint.checksum"))
      fail("{}: the checkpoint is damaged (its checksum does not match its contents)", path_);
    // Training never writes these (a diverging loss stops it first); resuming from them could
    // only train NaN.
    for (int i = 0; i < 3; ++i) {
      const auto& a = *arrays[i];
      const bool second_moment = i == 2;
      for (size_t j = 0; j < a.size(); ++j)
        if (!std::isfinite(a[j]) || (second_moment && a[j] < 0))
          fail("{}: checkpoint tensor '{}' holds {} at index {}: not a state training reaches",
               path_, kTensors[i], a[j], j);
    }
  }

  const GgufFile& f_;
  const std::string& path_;
  Checkpoint c_;
};

}  // namespace

Checkpoint load_checkpoint(const GgufFile& file) { return CheckpointReader(file).read(); }

void check_resumable(const Checkpoint& c, const ModelConfig& shape, const std::string& path) {
  if (!(c.shape == shape))
    fail("{}: the checkpoint is for a different model ({}) than the one asked for ({})", path,
         c.shape.describe(), shape.describe());
}

}  // namespace aded::train
