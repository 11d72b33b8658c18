// Writes seed corpora for the fuzz targets with the project's own writers, so fuzzing starts from
// deep, valid inputs rather than from random bytes:
//   <out>/gguf/     tiny models (llama and qwen2, several weight types, SentencePiece and BPE
//                   vocabularies), vocab-only files and a file with every metadata type
//   <out>/llama2c/  tiny llama2.c checkpoints + tokenizer.bin in llama2c_fuzz's input layout
//   <out>/text/     a few strings for the tokenizer targets
//   <out>/ngram/    small tri-gram tables (built with a seed model's vocabulary)
//   <out>/token_cache/  token caches of `aded train` (seed_shapes.h: key and vocabulary)
//   <out>/checkpoint/   training checkpoints of a tiny model (seed_shapes.h), at several steps
// Every seed is checked to parse (and every model to load) before it is kept.
//   usage: aded_fuzz_seeds <out-dir>
#include <xxhash.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "aded/convert.h"
#include "aded/error.h"
#include "aded/gguf.h"
#include "aded/model.h"
#include "aded/model_tools.h"
#include "aded/trigram_table.h"
#include "distillation/distill_set.h"
#include "seed_shapes.h"
#include "train/checkpoint.h"
#include "train/parameter_layout.h"
#include "train/token_cache.h"

namespace fs = std::filesystem;

namespace {

// ------------------------------------------------------------------ vocabularies

const std::vector<std::string> kSpmPieces = {"<unk>",
                                             "<s>",
                                             "</s>",
                                             "<0x0A>",
                                             "<0x20>",
                                             "<0xC3>",
                                             "<0xA9>",
                                             "\xE2\x96\x81",
                                             "e",
                                             "t",
                                             "h",
                                             "\xE2\x96\x81t",
                                             "he",
                                             "\xE2\x96\x81the",
                                             "a",
                                             "\xE2\x96\x81"
                                             "a",
                                             "o",
                                             "n",
                                             "<tag>",
                                             "x"};

void spm_vocab(aded::GgufWriter& w) {
  std::vector<float> scores;
  std::vector<int32_t> types;
  for (size_t i = 0; i < kSpmPieces.size(); ++i) {
    scores.push_back(-static_cast<float>(i));
    const bool byte = kSpmPieces[i].rfind("<0x", 0) == 0;
    types.push_back(i == 0 ? 2 : i < 3 ? 3 : byte ? 6 : kSpmPieces[i] == "<tag>" ? 4 : 1);
  }
  w.set_string("tokenizer.ggml.model", "llama");
  w.set_string_array("tokenizer.ggml.tokens", kSpmPieces);
  w.set_f32_array("tokenizer.ggml.scores", scores);
  w.set_i32_array("tokenizer.ggml.token_type", types);
  w.set_u32("tokenizer.ggml.bos_token_id", 1);
  w.set_u32("tokenizer.ggml.eos_token_id", 2);
  w.set_u32("tokenizer.ggml.unknown_token_id", 0);
  w.set_bool("tokenizer.ggml.add_bos_token", true);
  w.set_bool("tokenizer.ggml.add_space_prefix", true);
}

// Byte-level BPE: the 256 byte symbols (GPT-2's byte-to-unicode map), a few merges, controls.
void bpe_vocab(aded::GgufWriter& w) {
  std::vector<std::string> tokens;
  int next_code_point = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    const int cp = printable ? b : next_code_point++;
    std::string s;
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    tokens.push_back(s);
  }
  const std::vector<std::string> merges = {"\xC4\xA0 t", "h e", "\xC4\xA0t he", "i n",
                                           "\xC4\xA0 a"};
  for (const auto& m : merges)
    tokens.push_back(m.substr(0, m.find(' ')) + m.substr(m.find(' ') + 1));
  tokens.push_back("<|begin_of_text|>");
  tokens.push_back("<|end_of_text|>");
  std::vector<int32_t> types(tokens.size(), 1);
  types[types.size() - 1] = types[types.size() - 2] = 3;
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", "llama3");
  w.set_string_array("tokenizer.ggml.tokens", tokens);
  w.set_string_array("tokenizer.ggml.merges", merges);
  w.set_i32_array("tokenizer.ggml.token_type", types);
  w.set_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(tokens.size() - 2));
  w.set_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(tokens.size() - 1));
}

// ------------------------------------------------------------------ GGUF seeds

void check_parses(const fs::path& path) {
  (void)aded::GgufFile::open(path.string());
}
void check_loads(const fs::path& path) {
  (void)aded::Model::load(path.string());
}

void write_vocab_file(const fs::path& path, void (*vocab)(aded::GgufWriter&)) {
  aded::GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_string("general.name", "vocab only");
  vocab(w);
  w.write(path.string());
  check_parses(path);
}

// One layer of two heads; the vocabulary size comes from the vocabulary file.
aded::ModelConfig small_shape(aded::Architecture arch, int dim) {
  return aded::ModelConfig::new_model(arch, dim, 1, 2, 1, dim * 2, 512, 16,
                                      arch == aded::Architecture::Llama);
}

void write_model(const fs::path& path, const aded::ModelConfig& shape, aded::TensorType type,
                 const fs::path& vocab) {
  aded::RandomModelOptions o;
  o.shape = shape;
  o.type = type;
  o.vocab_path = vocab.string();
  o.seed = 7;
  aded::write_random_model(o, path.string());
  check_loads(path);
}

// One key of every metadata type and array element type, a non-default alignment, and tensors of
// types the engine only recognizes.
void write_metadata_zoo(const fs::path& path) {
  aded::GgufWriter w;
  w.set_alignment(64);
  w.set_string("general.architecture", "zoo");
  w.set_string("zoo.string", "h\xC3\xA9llo");
  w.set_u32("zoo.u32", 4000000000u);
  w.set_i32("zoo.i32", -5);
  w.set_u64("zoo.u64", ~uint64_t{0});
  w.set_f32("zoo.f32", -0.25f);
  w.set_bool("zoo.bool", true);
  w.set_string_array("zoo.strings", {"", "a", "bc"});
  w.set_f32_array("zoo.f32s", {1.5f, -2.0f});
  w.set_i32_array("zoo.i32s", {-1, 0, 7});
  const std::vector<uint8_t> zeros(4096, 0);
  for (auto type : {aded::TensorType::Q4_K, aded::TensorType::Q6_K, aded::TensorType::Q2_K,
                    aded::TensorType::BF16, aded::TensorType::Q5_1, aded::TensorType::Q8_1}) {
    const size_t bytes = *aded::row_bytes(type, 256);
    w.add_tensor_bytes(std::string("t.") + std::string(aded::tensor_type_name(type)), type,
                       {256, 1}, {zeros.data(), bytes});
  }
  w.write(path.string());
  check_parses(path);
}

void write_gguf_seeds(const fs::path& dir) {
  fs::create_directories(dir);
  const fs::path spm = dir / "vocab_spm.gguf", bpe = dir / "vocab_bpe.gguf";
  write_vocab_file(spm, spm_vocab);
  write_vocab_file(bpe, bpe_vocab);
  constexpr auto llama = aded::Architecture::Llama, qwen2 = aded::Architecture::Qwen2;
  write_model(dir / "llama_f32.gguf", small_shape(llama, 8), aded::TensorType::F32, spm);
  write_model(dir / "llama_f16.gguf", small_shape(llama, 8), aded::TensorType::F16, spm);
  write_model(dir / "llama_q8_0.gguf", small_shape(llama, 32), aded::TensorType::Q8_0, spm);
  write_model(dir / "llama_q4_0.gguf", small_shape(llama, 32), aded::TensorType::Q4_0, spm);
  write_model(dir / "qwen2_bf16_bpe.gguf", small_shape(qwen2, 8), aded::TensorType::BF16, bpe);
  // Matrices in the kernels' packed layout (aded repack): the packed type ids and their sizes.
  aded::repack_model((dir / "llama_q8_0.gguf").string(), (dir / "llama_q8_0_packed.gguf").string());
  check_parses(dir / "llama_q8_0_packed.gguf");
  write_metadata_zoo(dir / "metadata_zoo.gguf");
}

// ------------------------------------------------------------------ llama2.c seeds

struct Llama2cShape {
  int32_t dim, hidden, layers, heads, kv_heads, vocab, seq_len;
  bool shared_classifier;
};

template <typename T>
void append(std::vector<uint8_t>& out, T v) {
  const size_t n = out.size();
  out.resize(n + sizeof(T));
  std::memcpy(out.data() + n, &v, sizeof(T));
}

void append_floats(std::vector<uint8_t>& out, size_t n, float base) {
  for (size_t i = 0; i < n; ++i) append(out, base + 0.01f * static_cast<float>(i % 17) - 0.08f);
}

std::vector<uint8_t> llama2c_checkpoint(const Llama2cShape& s) {
  std::vector<uint8_t> out;
  for (int32_t v : {s.dim, s.hidden, s.layers, s.heads, s.kv_heads,
                    s.shared_classifier ? s.vocab : -s.vocab, s.seq_len})
    append(out, v);
  const auto dim = static_cast<size_t>(s.dim), hidden = static_cast<size_t>(s.hidden),
             layers = static_cast<size_t>(s.layers), vocab = static_cast<size_t>(s.vocab),
             head = dim / static_cast<size_t>(s.heads), kv = head * static_cast<size_t>(s.kv_heads);
  append_floats(out, vocab * dim, 0);                            // token embedding
  append_floats(out, layers * dim, 1);                           // attention norms
  append_floats(out, layers * dim * (2 * dim + 2 * kv), 0);      // wq, wk, wv, wo
  append_floats(out, layers * dim, 1);                           // ffn norms
  append_floats(out, layers * dim * hidden * 3, 0);              // w1, w2, w3
  append_floats(out, dim, 1);                                    // final norm
  append_floats(out, static_cast<size_t>(s.seq_len) * head, 0);  // unused RoPE tables
  if (!s.shared_classifier) append_floats(out, vocab * dim, 0);
  return out;
}

std::vector<uint8_t> llama2c_tokenizer(int32_t vocab) {
  const std::vector<std::string> named = {"<unk>", "\n<s>\n", "\n</s>\n", "<0x0A>",
                                          " ",     "e",       " the",     "h"};
  std::vector<uint8_t> out;
  append<int32_t>(out, 8);
  for (int32_t i = 0; i < vocab; ++i) {
    const std::string piece = i < static_cast<int32_t>(named.size()) ? named[static_cast<size_t>(i)]
                                                                     : "p" + std::to_string(i);
    append<float>(out, -static_cast<float>(i));
    append<int32_t>(out, static_cast<int32_t>(piece.size()));
    out.insert(out.end(), piece.begin(), piece.end());
  }
  return out;
}

void write_bytes(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) aded::fail("{}: cannot write", path.string());
}

void write_llama2c_seed(const fs::path& dir, const std::string& name, const Llama2cShape& shape) {
  const auto checkpoint = llama2c_checkpoint(shape);
  const auto tokenizer = llama2c_tokenizer(shape.vocab);
  // Check that the importer accepts the pair before keeping it.
  const fs::path ckpt = dir / (name + ".ckpt.tmp"), tok = dir / (name + ".tok.tmp"),
                 gguf = dir / (name + ".gguf.tmp");
  write_bytes(ckpt, checkpoint);
  write_bytes(tok, tokenizer);
  aded::convert_llama2c(ckpt.string(), tok.string(), gguf.string());
  check_loads(gguf);
  for (const auto& p : {ckpt, tok, gguf}) fs::remove(p);

  std::vector<uint8_t> seed;
  append(seed, static_cast<uint32_t>(checkpoint.size()));
  seed.insert(seed.end(), checkpoint.begin(), checkpoint.end());
  seed.insert(seed.end(), tokenizer.begin(), tokenizer.end());
  write_bytes(dir / (name + ".bin"), seed);
}

void write_llama2c_seeds(const fs::path& dir) {
  fs::create_directories(dir);
  write_llama2c_seed(dir, "tied", {8, 16, 1, 2, 1, 12, 8, true});
  write_llama2c_seed(dir, "classifier", {8, 12, 2, 2, 2, 10, 4, false});
}

// ------------------------------------------------------------------ text seeds

void write_text_seeds(const fs::path& dir) {
  fs::create_directories(dir);
  const std::vector<std::string> texts = {
      "Hello, world!",
      " the theater\n\n  x",
      "<s>hi</s><|begin_of_text|><|eot_id|><think>",
      "caf\xC3\xA9 \xF0\x9F\x98\x80 \xE3\x81\xBE\xE3\x81\xBE 123456",
      "\xFF\xC3(\xE2\x82",
      "\xE2\x96\x81\xE2\x96\x81x"};
  for (size_t i = 0; i < texts.size(); ++i)
    write_bytes(dir / ("text" + std::to_string(i) + ".txt"), {texts[i].begin(), texts[i].end()});
}

// ------------------------------------------------------------------ tri-gram table seeds

void write_ngram_seeds(const fs::path& dir, const fs::path& model_path) {
  fs::create_directories(dir);
  const auto model = aded::Model::load(model_path.string());
  const std::string docs = "the theater the theater\nhe ate the hat\n\nthe tea the teeth the hen\n";
  for (int top_k : {1, 4}) {
    aded::TrigramTableBuilder builder(model->tokenizer(), top_k);
    builder.add_document(docs);
    builder.add_document("tea at the theater, then the hat");
    const fs::path path = dir / ("table_k" + std::to_string(top_k) + ".tri");
    builder.write(path.string());
    (void)aded::TrigramTable::open(path.string(), &model->tokenizer().vocab());
  }
}

// ------------------------------------------------------------------ training seeds

void write_token_cache_seeds(const fs::path& dir) {
  fs::create_directories(dir);
  for (const size_t n : {0, 3, 64}) {
    std::vector<int32_t> ids(n);
    for (size_t i = 0; i < n; ++i)
      ids[i] = static_cast<int32_t>((i * 37) % aded::fuzz::kTokenCacheVocab);
    aded::train::CacheHeader h{};
    std::memcpy(h.magic, aded::train::kCacheMagic, sizeof(h.magic));
    h.key = aded::fuzz::kTokenCacheKey;
    h.n_tokens = n;
    h.documents = 1;
    h.bytes = n * 3;
    std::vector<uint8_t> bytes(sizeof(h) + n * 4 + 8);
    std::memcpy(bytes.data(), &h, sizeof(h));
    std::copy_n(reinterpret_cast<const uint8_t*>(ids.data()), n * 4, bytes.data() + sizeof(h));
    const uint64_t checksum = XXH3_64bits(ids.data(), n * 4);
    std::memcpy(bytes.data() + sizeof(h) + n * 4, &checksum, 8);
    if (!aded::train::parse_token_cache(bytes, aded::fuzz::kTokenCacheKey,
                                        aded::fuzz::kTokenCacheVocab))
      aded::fail("token cache seed of {} ids does not read back", n);
    write_bytes(dir / ("cache" + std::to_string(n) + ".bin"), bytes);
  }
}

void write_checkpoint_seeds(const fs::path& dir) {
  fs::create_directories(dir);
  const aded::ModelConfig shape = aded::fuzz::checkpoint_shape();
  const size_t n = aded::train::ParameterLayout(shape).size();
  for (const uint64_t step : {0, 7}) {
    std::vector<float> params(n), m(n), v(n);
    for (size_t i = 0; i < n; ++i) {
      params[i] = 0.01f * static_cast<float>(i % 23) - 0.1f;
      m[i] = step ? 1e-3f * static_cast<float>(i % 5) : 0.0f;
      v[i] = step ? 1e-6f * static_cast<float>(i % 7) : 0.0f;
    }
    aded::train::TrainState state;
    state.step = step;
    state.tokens_seen = step * 64;
    const fs::path path = dir / ("step" + std::to_string(step) + ".ckpt");
    aded::train::save_checkpoint(path.string(), shape, {}, state, params, m, v);
    (void)aded::train::load_checkpoint(path.string());
  }
}

// Distillation sets (distill_set.h) of 0, 1 and 3 records, top 2 of a vocabulary of 12, after
// the byte with which distill_set_fuzz chooses to verify checksums.
void write_distill_seeds(const fs::path& dir) {
  fs::create_directories(dir);
  aded::distill::DistillSet set;
  set.info.n_vocab = 12;
  set.info.top_k = 2;
  set.info.max_tokens = 4;
  set.info.samples_per_prompt = 1;
  set.info.temperature = 0.8f;
  set.info.target_name = "t.gguf";
  for (const uint32_t records : {0u, 1u, 3u}) {
    while (set.records.size() < records) {
      aded::distill::Record r;
      r.prompt_key = set.records.size();
      r.tokens = {1, 4, 5, 6};
      r.response_start = 2;
      r.top_ids = {5, 2, 6, 0};
      r.top_probs = {0.5f, 0.25f, 0.75f, 0.125f};
      r.rest = {0.25f, 0.125f};
      set.records.push_back(r);
    }
    auto bytes = aded::distill::serialize(set);
    (void)aded::distill::parse_set(bytes, "seed");
    bytes.insert(bytes.begin(), uint8_t{1});  // distill_set_fuzz's first byte: verify checksums
    write_bytes(dir / ("set" + std::to_string(records) + ".bin"), bytes);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <out-dir>\n", argv[0]);
    return 2;
  }
  try {
    const fs::path out = argv[1];
    write_gguf_seeds(out / "gguf");
    write_llama2c_seeds(out / "llama2c");
    write_text_seeds(out / "text");
    write_ngram_seeds(out / "ngram", out / "gguf" / "llama_f32.gguf");
    write_token_cache_seeds(out / "token_cache");
    write_checkpoint_seeds(out / "checkpoint");
    write_distill_seeds(out / "distill_set");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "aded_fuzz_seeds: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
