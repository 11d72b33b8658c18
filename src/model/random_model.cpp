#include <algorithm>
#include <cmath>
#include <map>
#include <thread>

#include "aded/error.h"
#include "aded/gguf.h"
#include "aded/model_tools.h"
#include "aded/thread_pool.h"
#include "core/quant/quant.h"
#include "model/model_metadata.h"
#include "model/model_tensors.h"
#include "tokenizer/spm_normalizer.h"
#include "tokenizer/vocab_metadata.h"

namespace aded {

namespace {

// A named shape of `arch`, with its conventions (ModelConfig::fill_conventions).
ModelConfig named(Architecture arch, int dim, int n_layers, int n_heads, int n_kv_heads,
                  int hidden_dim, int n_vocab, int ctx, bool tied_output, float rope_base) {
  ModelConfig c = ModelConfig::new_model(arch, dim, n_layers, n_heads, n_kv_heads, hidden_dim,
                                         n_vocab, ctx, tied_output);
  c.rope_base = rope_base;
  return c;
}

// Heads of their own size rather than dim / n_heads (Qwen3, Gemma 2).
ModelConfig with_heads_of(ModelConfig c, int head_dim) {
  c.head_dim = c.rope_dim = head_dim;
  return c;
}

const std::map<std::string, ModelConfig>& shapes() {
  constexpr auto llama = Architecture::Llama, qwen2 = Architecture::Qwen2;
  // Phi-3.5-mini: 32 heads of 96, no GQA, LongRoPE from 4k to 128k, window wider than the context.
  ModelConfig phi35 = named(Architecture::Phi3, 3072, 32, 32, 32, 8192, 32064, 131072, false, 10000.0f);
  phi35.sliding_window = 262144;
  phi35.rope_orig_ctx = 4096;
  phi35.rope_attn_factor = 1.1902380714238083f;
  // Small members of each architecture with its features on, for reference checks in CI: the
  // phi3 one with GQA, LongRoPE's long factors (its original context is short) and a sliding
  // window shorter than the checks' 64 tokens.
  ModelConfig tiny_phi3 = named(Architecture::Phi3, 128, 2, 4, 2, 256, 512, 1024, false, 10000.0f);
  tiny_phi3.sliding_window = 24;
  tiny_phi3.rope_orig_ctx = 32;
  tiny_phi3.rope_attn_factor = 1.19f;
  // Granite 3.1 2B: Llama with four multipliers.
  const auto granite = [](ModelConfig c, float attention, float embedding, float residual, float logits) {
    c.attn_scale = attention, c.embedding_scale = embedding, c.residual_scale = residual, c.logit_scale = logits;
    return c;
  };
  // The gemma2 one with caps low enough to bind on random weights, its even layers' window short.
  ModelConfig tiny_gemma2 = with_heads_of(named(Architecture::Gemma2, 128, 2, 4, 2, 256, 512, 1024, true, 10000.0f), 64);
  tiny_gemma2.sliding_window = 24;
  tiny_gemma2.attn_softcap = 2.0f;
  tiny_gemma2.final_softcap = 1.0f;
  static const std::map<std::string, ModelConfig> m = {
      {"tiny", named(llama, 64, 2, 4, 2, 160, 512, 256, true, 10000.0f)},
      // llama2.c's 110M: dim 768, 12 layers, 12 heads, hidden 2048, output tied to the embedding.
      {"llama-110m", named(llama, 768, 12, 12, 12, 2048, 32000, 1024, true, 10000.0f)},
      // TinyLlama 1.1B.
      {"llama-1.1b", named(llama, 2048, 22, 32, 4, 5632, 32000, 2048, false, 10000.0f)},
      // The same with one kv head (multi-query attention, as Falcon, Gemma 2B and StarCoder have):
      // fewer kv heads than threads, the attention a team divides (TeamPartition::split_tasks).
      {"llama-1.1b-mqa", named(llama, 2048, 22, 32, 1, 5632, 32000, 2048, false, 10000.0f)},
      // Qwen2-0.5B.
      {"qwen2-0.5b", named(qwen2, 896, 24, 14, 2, 4864, 151936, 32768, true, 1000000.0f)},
      {"phi-3.5-mini", phi35},
      {"tiny-qwen2", named(qwen2, 128, 2, 4, 2, 256, 512, 1024, false, 1000000.0f)},
      {"tiny-phi3", tiny_phi3},
      // Qwen2 with YaRN over 4x its original context (as Qwen2's long-context files set it), the
      // 64-token checks reaching 4x beyond that original context of 16.
      {"tiny-qwen2-yarn", [] {
         ModelConfig c = named(Architecture::Qwen2, 128, 2, 4, 2, 256, 512, 1024, false, 1000000.0f);
         c.rope_yarn = true, c.rope_scale = 4.0f, c.rope_orig_ctx = 16;
         return c;
       }()},
      // Qwen3-0.6B: 16 query heads of 128 over a residual stream of 1024.
      {"qwen3-0.6b", with_heads_of(named(Architecture::Qwen3, 1024, 28, 16, 8, 3072, 151936, 40960, true, 1000000.0f), 128)},
      // Gemma-2-2B: 8 query heads of 256 over a stream of 2304, tied output, window 4096.
      {"gemma-2-2b", with_heads_of(named(Architecture::Gemma2, 2304, 26, 8, 4, 9216, 256000, 8192, true, 10000.0f), 256)},
      {"tiny-gemma2", tiny_gemma2},
      // Gemma-2-2B's 26 layers (llama.cpp runs gemma2 only at its members' layer counts) at tiny width.
      {"tiny-gemma2-26l", [&] {
         ModelConfig c = tiny_gemma2;
         c.n_layers = 26;
         return c;
       }()},
      {"granite-3.1-2b", granite(named(Architecture::Granite, 2048, 40, 32, 8, 8192, 49155, 131072, true, 5000000.0f),
                                 0.015625f, 12.0f, 0.22f, 8.0f)},
      {"tiny-granite", granite(named(Architecture::Granite, 128, 2, 4, 2, 256, 512, 1024, true, 10000.0f), 0.1f, 12.0f,
                               0.22f, 8.0f)},
      // OLMo-2-0425-1B: no pre-norms, whole-projection q/k norms, post-norms.
      {"olmo-2-1b", named(Architecture::Olmo2, 2048, 16, 16, 16, 8192, 100352, 4096, false, 500000.0f)},
      // StarCoder2-3B: 24 query heads of 128 over 2 kv heads, LayerNorm, a GELU MLP, biases.
      {"starcoder2-3b", named(Architecture::Starcoder2, 3072, 30, 24, 2, 12288, 49152, 16384, true, 999999.4f)},
      {"tiny-starcoder2", named(Architecture::Starcoder2, 128, 2, 4, 2, 256, 512, 1024, false, 100000.0f)},
      {"tiny-olmo2", named(Architecture::Olmo2, 128, 2, 4, 4, 256, 512, 1024, false, 500000.0f)},  // no GQA, as OLMo 2 (and llama.cpp with it)
      {"tiny-qwen3", with_heads_of(named(Architecture::Qwen3, 128, 2, 4, 2, 256, 512, 1024, false, 1000000.0f), 64)},
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
  Vocab v;
  v.model = "llama";
  auto add = [&v](std::string piece, float score, TokenKind kind) {
    v.pieces.push_back(std::move(piece));
    v.scores.push_back(score);
    v.kinds.push_back(kind);
  };
  add("<unk>", 0, TokenKind::Unknown);
  add("<s>", 0, TokenKind::Control);
  add("</s>", 0, TokenKind::Control);
  for (int b = 0; b < 256; ++b) add(fmt::format("<0x{:02X}>", b), 0, TokenKind::Byte);
  const std::string letters = "etaoinshrdlucmfwypvbgkjqxz";
  for (int i = 0; v.size() < n; ++i) {
    std::string piece = (i % 2 == 0) ? std::string(kSpmSpaceSymbol) : "";
    for (int k = i / 2 + 1; k > 0; k /= 26) piece += letters[static_cast<size_t>(k % 26)];
    add(std::move(piece), -static_cast<float>(i), TokenKind::Normal);
  }
  v.unk = 0, v.bos = 1, v.eos = 2;
  write_vocab_core(w, v);
}

int copy_vocab(GgufWriter& w, const std::string& path) {
  const GgufFile v = GgufFile::open(path);
  require_vocabulary(v);
  (void)Vocab::from_gguf(v);  // validates
  w.copy_metadata(v, vocab_key::kPrefix);
  return static_cast<int>(v.get_string_array(vocab_key::kTokens).size());
}

}  // namespace

std::optional<ModelConfig> named_model_shape(const std::string& name) {
  auto it = shapes().find(name);
  if (it == shapes().end()) return std::nullopt;
  return it->second;
}

std::string named_model_shapes() {
  std::string s;
  for (const auto& [name, shape] : shapes()) s += (s.empty() ? "" : ", ") + name;
  return s;
}

uint64_t write_random_model(const RandomModelOptions& o, const std::string& path) {
  if (!quant::can_quantize(o.type))
    fail("cannot write weights of type {} (supported: F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K)",
         tensor_type_name(o.type));
  ModelConfig c = o.shape;
  GgufWriter w;
  if (!o.vocab_path.empty()) {
    c.n_vocab = copy_vocab(w, o.vocab_path);
  } else {
    synthetic_vocab(w, c.n_vocab);
  }
  c.validate();
  write_model_config(w, c, "aded random-weight model", o.type);

  struct Spec {
    TensorKind kind;
    int layer;  // -1 for the tensors of the whole model
  };
  std::vector<Spec> specs = {{TensorKind::TokenEmbedding, -1}};
  const std::vector<TensorKind> layer_kinds = layer_tensor_kinds(c);
  for (int l = 0; l < c.n_layers; ++l)
    for (TensorKind kind : layer_kinds) specs.push_back({kind, l});
  specs.push_back({TensorKind::OutputNorm, -1});
  if (c.layer_norm()) specs.push_back({TensorKind::OutputNormBias, -1});
  if (!c.tied_output) specs.push_back({TensorKind::Output, -1});
  // LongRoPE's divisors, shaped like Phi-3.5's: near 1 within the original context, growing
  // with the pair's wavelength beyond it.
  const bool long_rope = c.arch == Architecture::Phi3 && c.rope_orig_ctx > 0 && c.rope_orig_ctx < c.ctx_train;
  if (long_rope) specs.insert(specs.end(), {{TensorKind::RopeFactorsLong, -1}, {TensorKind::RopeFactorsShort, -1}});

  const int threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  ThreadPool pool(threads);
  for (size_t t = 0; t < specs.size(); ++t) {
    const Spec& spec = specs[t];
    const std::string name = tensor_name(spec.kind, spec.layer);
    const std::vector<int64_t> dims = tensor_dims(spec.kind, c);
    const bool matrix = dims.size() == 2;
    using K = TensorKind;
    const bool is_bias = spec.kind == K::AttnQBias || spec.kind == K::AttnKBias || spec.kind == K::AttnVBias ||
                         spec.kind == K::AttnNormBias || spec.kind == K::AttnOutputBias || spec.kind == K::FfnNormBias ||
                         spec.kind == K::FfnUpBias || spec.kind == K::FfnDownBias || spec.kind == K::OutputNormBias;
    const bool is_rope = spec.kind == TensorKind::RopeFactorsLong || spec.kind == TensorKind::RopeFactorsShort;
    const TensorType type = matrix && row_bytes(o.type, dims[0]) ? o.type : TensorType::F32;
    const int64_t cols = dims[0];
    const int64_t rows = matrix ? dims[1] : 1;
    // Scale like a trained model's: unit-ish norms, 1/sqrt(fan-in) matrices.
    const float scale = matrix ? 1.0f / std::sqrt(static_cast<float>(cols)) : is_bias ? 0.1f : 0.2f;
    const size_t rb = *row_bytes(type, cols);
    const uint64_t seed = o.seed;
    auto progress = o.progress;
    const size_t total = specs.size();
    w.add_tensor(name, type, dims, [=, &pool](std::span<uint8_t> out) {
      pool.run([&](int th, int nt) {
        int64_t begin, end;
        ThreadPool::split(rows, 1, th, nt, begin, end);
        std::vector<float> row(static_cast<size_t>(cols));
        for (int64_t r = begin; r < end; ++r) {
          random_row(seed, t, static_cast<uint64_t>(r), scale, row.data(), cols);
          if (is_rope) {
            const float growth = spec.kind == TensorKind::RopeFactorsLong ? 40.0f : 0.2f;
            for (int64_t i = 0; i < cols; ++i)
              row[static_cast<size_t>(i)] = 1.0f + growth * static_cast<float>(i) / static_cast<float>(cols) +
                                             0.5f * std::abs(row[static_cast<size_t>(i)]);
          } else if (!matrix && !is_bias) {
            for (auto& v : row) v += 1.0f;  // norm weights around 1
          }
          quant::quantize_row(type, row.data(), out.data() + static_cast<size_t>(r) * rb, cols);
        }
      });
      if (progress) progress(t + 1, total);
    });
  }
  return w.write(path);
}

}  // namespace aded
