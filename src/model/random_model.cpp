#include <algorithm>
#include <cmath>
#include <map>
#include <thread>

#include "aded/error.h"
#include "aded/gguf.h"
#include "aded/model_tools.h"
#include "aded/thread_pool.h"
#include "core/quant/quant.h"

namespace aded {

namespace {

const std::map<std::string, ModelShape>& shapes() {
  static const std::map<std::string, ModelShape> m = {
      {"tiny", ModelShape{"llama", 64, 2, 4, 2, 160, 512, 256, 10000.0f, true, false}},
      // llama2.c's 110M: dim 768, 12 layers, 12 heads, hidden 2048, output tied to the embedding.
      {"llama-110m", ModelShape{"llama", 768, 12, 12, 12, 2048, 32000, 1024, 10000.0f, true, false}},
      // TinyLlama 1.1B.
      {"llama-1.1b", ModelShape{"llama", 2048, 22, 32, 4, 5632, 32000, 2048, 10000.0f, false, false}},
      // Qwen2-0.5B.
      {"qwen2-0.5b", ModelShape{"qwen2", 896, 24, 14, 2, 4864, 151936, 32768, 1000000.0f, true, true}},
  };
  return m;
}

uint64_t splitmix(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Uniform in [-scale, scale), a pure function of (seed, tensor, row) so files are reproducible.
void random_row(uint64_t seed, uint64_t tensor, uint64_t row, float scale, float* out, int64_t n) {
  uint64_t s = seed * 0x100000001B3ull ^ (tensor << 40) ^ row;
  for (int64_t i = 0; i < n; ++i) {
    const double u = static_cast<double>(splitmix(s) >> 11) * 0x1.0p-53;
    out[i] = static_cast<float>((2 * u - 1) * scale);
  }
}

// A SentencePiece-style vocabulary of n tokens: unk, BOS, EOS, 256 byte tokens, then made-up
// pieces, so random models can be run and timed without a real tokenizer.
void synthetic_vocab(GgufWriter& w, int n) {
  if (n < 260) fail("a synthetic vocabulary needs at least 260 tokens, not {}", n);
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<float> scores = {0, 0, 0};
  std::vector<int32_t> types = {2, 3, 3};
  for (int b = 0; b < 256; ++b) {
    tokens.push_back(fmt::format("<0x{:02X}>", b));
    scores.push_back(0);
    types.push_back(6);
  }
  const std::string letters = "etaoinshrdlucmfwypvbgkjqxz";
  for (int i = 0; static_cast<int>(tokens.size()) < n; ++i) {
    std::string piece = (i % 2 == 0) ? "\xE2\x96\x81" : "";
    for (int v = i / 2 + 1; v > 0; v /= 26) piece += letters[static_cast<size_t>(v % 26)];
    tokens.push_back(piece);
    scores.push_back(-static_cast<float>(i));
    types.push_back(1);
  }
  w.set_string("tokenizer.ggml.model", "llama");
  w.set_string_array("tokenizer.ggml.tokens", std::move(tokens));
  w.set_f32_array("tokenizer.ggml.scores", std::move(scores));
  w.set_i32_array("tokenizer.ggml.token_type", std::move(types));
  w.set_u32("tokenizer.ggml.bos_token_id", 1);
  w.set_u32("tokenizer.ggml.eos_token_id", 2);
  w.set_u32("tokenizer.ggml.unknown_token_id", 0);
}

int copy_vocab(GgufWriter& w, const std::string& path) {
  const GgufFile v = GgufFile::open(path);
  if (!v.find("tokenizer.ggml.model") || !v.find("tokenizer.ggml.tokens"))
    fail("{}: not a vocabulary GGUF (no tokenizer.ggml.model / tokenizer.ggml.tokens)", path);
  (void)Vocab::from_gguf(v);  // validates
  w.copy_metadata(v, "tokenizer.");
  return static_cast<int>(v.get_string_array("tokenizer.ggml.tokens").size());
}

}  // namespace

std::optional<ModelShape> named_model_shape(const std::string& name) {
  auto it = shapes().find(name);
  if (it == shapes().end()) return std::nullopt;
  return it->second;
}

std::string named_model_shapes() {
  std::string s;
  for (const auto& [name, shape] : shapes()) s += (s.empty() ? "" : ", ") + name;
  return s;
}

uint32_t file_type_code(TensorType type) {
  switch (type) {
    case TensorType::F32: return 0;
    case TensorType::F16: return 1;
    case TensorType::Q4_0: return 2;
    case TensorType::Q4_1: return 3;
    case TensorType::Q8_0: return 7;
    case TensorType::Q5_0: return 8;
    case TensorType::Q5_1: return 9;
    case TensorType::Q4_K: return 15;
    case TensorType::Q5_K: return 17;
    case TensorType::Q6_K: return 18;
    case TensorType::BF16: return 32;
    default: return 0;
  }
}

void write_random_model(const RandomModelOptions& o, const std::string& path) {
  ModelShape s = o.shape;
  if (!quant::can_quantize(o.type))
    fail("cannot write weights of type {} (supported: F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K)",
         tensor_type_name(o.type));
  if (s.arch != "llama" && s.arch != "qwen2") fail("unknown architecture '{}'", s.arch);
  if (s.dim % s.n_heads != 0 || s.n_heads % s.n_kv_heads != 0 || (s.dim / s.n_heads) % 2 != 0)
    fail("inconsistent shape: dim {} heads {} kv heads {}", s.dim, s.n_heads, s.n_kv_heads);
  GgufWriter w;
  if (!o.vocab_path.empty()) {
    s.n_vocab = copy_vocab(w, o.vocab_path);
  } else {
    synthetic_vocab(w, s.n_vocab);
  }
  const std::string& a = s.arch;
  w.set_string("general.architecture", a);
  w.set_string("general.name", "aded random-weight model");
  w.set_u32("general.file_type", file_type_code(o.type));
  w.set_u32(a + ".context_length", static_cast<uint32_t>(s.ctx));
  w.set_u32(a + ".embedding_length", static_cast<uint32_t>(s.dim));
  w.set_u32(a + ".block_count", static_cast<uint32_t>(s.n_layers));
  w.set_u32(a + ".feed_forward_length", static_cast<uint32_t>(s.hidden_dim));
  w.set_u32(a + ".attention.head_count", static_cast<uint32_t>(s.n_heads));
  w.set_u32(a + ".attention.head_count_kv", static_cast<uint32_t>(s.n_kv_heads));
  w.set_f32(a + ".attention.layer_norm_rms_epsilon", a == "qwen2" ? 1e-6f : 1e-5f);
  w.set_f32(a + ".rope.freq_base", s.rope_base);
  w.set_u32(a + ".rope.dimension_count", static_cast<uint32_t>(s.dim / s.n_heads));

  const int64_t dim = s.dim, kv = s.dim / s.n_heads * s.n_kv_heads, hidden = s.hidden_dim, vocab = s.n_vocab;
  struct Spec {
    std::string name;
    std::vector<int64_t> dims;
    bool matrix;
  };
  std::vector<Spec> specs;
  specs.push_back({"token_embd.weight", {dim, vocab}, true});
  for (int l = 0; l < s.n_layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    specs.push_back({p + "attn_norm.weight", {dim}, false});
    specs.push_back({p + "attn_q.weight", {dim, dim}, true});
    specs.push_back({p + "attn_k.weight", {dim, kv}, true});
    specs.push_back({p + "attn_v.weight", {dim, kv}, true});
    if (s.qkv_bias) {
      specs.push_back({p + "attn_q.bias", {dim}, false});
      specs.push_back({p + "attn_k.bias", {kv}, false});
      specs.push_back({p + "attn_v.bias", {kv}, false});
    }
    specs.push_back({p + "attn_output.weight", {dim, dim}, true});
    specs.push_back({p + "ffn_norm.weight", {dim}, false});
    specs.push_back({p + "ffn_gate.weight", {dim, hidden}, true});
    specs.push_back({p + "ffn_up.weight", {dim, hidden}, true});
    specs.push_back({p + "ffn_down.weight", {hidden, dim}, true});
  }
  specs.push_back({"output_norm.weight", {dim}, false});
  if (!s.tied_output) specs.push_back({"output.weight", {dim, vocab}, true});

  const int threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  ThreadPool pool(threads);
  for (size_t t = 0; t < specs.size(); ++t) {
    const Spec& spec = specs[t];
    const bool is_bias = spec.name.find(".bias") != std::string::npos;
    const TensorType type = spec.matrix && row_bytes(o.type, spec.dims[0]) ? o.type : TensorType::F32;
    const int64_t cols = spec.dims[0];
    const int64_t rows = spec.dims.size() > 1 ? spec.dims[1] : 1;
    // Scale like a trained model's: unit-ish norms, 1/sqrt(fan-in) matrices.
    const float scale = spec.matrix ? 1.0f / std::sqrt(static_cast<float>(cols)) : is_bias ? 0.1f : 0.2f;
    const size_t rb = *row_bytes(type, cols);
    const uint64_t seed = o.seed;
    auto progress = o.progress;
    const size_t total = specs.size();
    w.add_tensor(spec.name, type, spec.dims, [=, &pool](std::span<uint8_t> out) {
      pool.run([&](int th, int nt) {
        int64_t begin, end;
        ThreadPool::split(rows, 1, th, nt, begin, end);
        std::vector<float> row(static_cast<size_t>(cols));
        for (int64_t r = begin; r < end; ++r) {
          random_row(seed, t, static_cast<uint64_t>(r), scale, row.data(), cols);
          if (!spec.matrix && !is_bias)
            for (auto& v : row) v += 1.0f;  // norm weights around 1
          quant::quantize_row(type, row.data(), out.data() + static_cast<size_t>(r) * rb, cols);
        }
      });
      if (progress) progress(t + 1, total);
    });
  }
  w.write(path);
}

}  // namespace aded
