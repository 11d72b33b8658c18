#include "train/checkpoint.h"

#include <xxhash.h>

#include <cstring>

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

Checkpoint load_checkpoint(const std::string& path) {
  const GgufFile f = GgufFile::open(path);
  if (!f.find("aded.checkpoint.version"))
    fail("{}: not an aded training checkpoint (no aded.checkpoint.version)", path);
  if (f.get_uint("aded.checkpoint.version") != kVersion)
    fail("{}: checkpoint version {} is not supported (this build reads {})", path,
         f.get_uint("aded.checkpoint.version"), kVersion);
  Checkpoint c;
  auto int_of = [&](const char* key) {
    const uint64_t v = f.get_uint(key);
    if (v > (1u << 30)) fail("{}: {} = {} is out of range", path, key, v);
    return static_cast<int>(v);
  };
  for (const ShapeKey& k : kShapeKeys) c.shape.*k.field = int_of(k.key);
  c.shape.tied_output = f.get_bool(kTiedOutputKey);
  c.shape.fill_conventions();
  try {
    c.shape.validate();
  } catch (const InputError& e) {
    fail("{}: the checkpoint's model shape is invalid: {}", path, e.what());
  }
  c.settings.batch = int_of("aded.train.batch");
  c.settings.lr = static_cast<float>(f.get_float("aded.train.lr"));
  c.settings.warmup_steps = static_cast<int64_t>(f.get_uint("aded.train.warmup_steps"));
  c.settings.steps = static_cast<int64_t>(f.get_uint("aded.train.steps"));
  c.settings.minutes = static_cast<double>(f.get_uint("aded.train.minutes_ms")) / 60000.0;
  c.settings.min_lr_fraction = static_cast<float>(f.get_float("aded.train.min_lr_fraction"));
  c.settings.weight_decay = static_cast<float>(f.get_float("aded.train.weight_decay"));
  c.settings.beta1 = static_cast<float>(f.get_float("aded.train.beta1"));
  c.settings.beta2 = static_cast<float>(f.get_float("aded.train.beta2"));
  c.settings.grad_clip = static_cast<float>(f.get_float("aded.train.grad_clip"));
  c.settings.seed = f.get_uint("aded.train.seed");
  c.state.step = f.get_uint("aded.train.step");
  c.state.elapsed_seconds = static_cast<double>(f.get_uint("aded.train.elapsed_us")) * 1e-6;
  c.state.tokens_seen = f.get_uint("aded.train.tokens_seen");
  c.state.corpus_key = f.get_uint("aded.train.corpus_key");

  const size_t size = ParameterLayout(c.shape).size();
  std::vector<float>* arrays[] = {&c.params, &c.adam_m, &c.adam_v};
  for (int i = 0; i < 3; ++i) {
    const GgufTensor* t = f.find_tensor(kTensors[i]);
    if (!t) fail("{}: the checkpoint has no tensor '{}'", path, kTensors[i]);
    if (t->type != TensorType::F32 || t->dims.size() != 1 ||
        static_cast<size_t>(t->elements()) != size)
      fail("{}: checkpoint tensor '{}' does not fit the model shape ({})", path, kTensors[i],
           c.shape.describe());
    arrays[i]->resize(size);
    std::memcpy(arrays[i]->data(), t->data, size * sizeof(float));
  }
  if (checksum(c.params, c.adam_m, c.adam_v) != f.get_uint("aded.checkpoint.checksum"))
    fail("{}: the checkpoint is damaged (its checksum does not match its contents)", path);
  return c;
}

}  // namespace aded::train
