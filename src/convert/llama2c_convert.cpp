// llama2.c legacy checkpoints: a header of 7 int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads,
// vocab_size, seq_len; a negative vocab_size means a separate classifier), then fp32 weights in a
// fixed order. Its tokenizer.bin: int32 max piece length, then per token: f32 score, int32 length,
// bytes (with "▁" written as a space, and BOS/EOS as "\n<s>\n" / "\n</s>\n").
#include <algorithm>
#include <cstring>
#include <limits>
#include <map>

#include "aded/convert.h"
#include "aded/error.h"
#include "aded/gguf.h"
#include "aded/mapped_file.h"
#include "core/output_target.h"
#include "model/model_metadata.h"
#include "model/model_tensors.h"
#include "tokenizer/spm_normalizer.h"
#include "tokenizer/vocab_metadata.h"

namespace aded {

namespace {

constexpr size_t kHeaderBytes = 7 * sizeof(int32_t);

// The per-layer arrays of fp32 weights, in file order (rms_att, wq, wk, wv, wo, rms_ffn, w1, w2,
// w3); each holds that tensor of every layer in turn.
constexpr TensorKind kLayerArrays[] = {
    TensorKind::AttnNorm, TensorKind::AttnQ,      TensorKind::AttnK,
    TensorKind::AttnV,    TensorKind::AttnOutput, TensorKind::FfnNorm,
    TensorKind::FfnGate,  TensorKind::FfnDown,    TensorKind::FfnUp,
};

size_t tensor_bytes(TensorKind kind, const ModelConfig& c) {
  size_t n = sizeof(float);
  for (const int64_t d : tensor_dims(kind, c)) n *= static_cast<size_t>(d);
  return n;
}

// Where in the file each tensor's array starts.
struct Layout {
  std::map<TensorKind, size_t> start;
  size_t total = 0;
};

Layout layout(const ModelConfig& c) {
  Layout o;
  size_t at = kHeaderBytes;
  auto take = [&](TensorKind kind, int copies) {
    o.start[kind] = at;
    at += static_cast<size_t>(copies) * tensor_bytes(kind, c);
  };
  take(TensorKind::TokenEmbedding, 1);
  for (const TensorKind kind : kLayerArrays) take(kind, c.n_layers);
  take(TensorKind::OutputNorm, 1);
  // freq_cis_real and freq_cis_imag (seq_len x head_dim / 2 each): unused.
  at += static_cast<size_t>(c.ctx_train) * static_cast<size_t>(c.head_dim) * sizeof(float);
  take(TensorKind::Output, c.tied_output ? 0 : 1);
  o.total = at;
  return o;
}

// tokenizer.bin holds pieces as text: normalized back, they are SentencePiece's pieces again.
std::string to_sentencepiece(std::string_view piece, int id) {
  if (id == 1) return "<s>";
  if (id == 2) return "</s>";
  return spm_normalize(piece, /*add_space_prefix=*/false);
}

bool is_byte_piece(const std::string& p) {
  return p.size() == 6 && p.compare(0, 3, "<0x") == 0 && p[5] == '>' && std::isxdigit(static_cast<unsigned char>(p[3])) &&
         std::isxdigit(static_cast<unsigned char>(p[4]));
}

// The vocabulary of tokenizer.bin: <unk>, then BOS and EOS, then the pieces and byte tokens.
Vocab read_tokenizer(const std::string& path, int vocab_size) {
  const auto file = MappedFile::open(path);
  const auto bytes = file->bytes();
  size_t pos = 0;
  auto need = [&](size_t n, const char* what) {
    if (n > bytes.size() - pos)
      fail("{}: offset {}: truncated llama2.c tokenizer ({} needs {} bytes)", path, pos, what, n);
  };
  need(4, "the header");
  int32_t max_len;
  std::memcpy(&max_len, bytes.data(), 4);
  pos = 4;
  if (max_len <= 0 || max_len > 4096) fail("{}: not a llama2.c tokenizer (max piece length {})", path, max_len);
  Vocab t;
  t.model = "llama";
  t.unk = 0, t.bos = 1, t.eos = 2;
  for (int i = 0; i < vocab_size; ++i) {
    if (pos == bytes.size())
      fail("{}: the tokenizer has {} tokens but the model's vocabulary has {}: wrong tokenizer for this "
           "model?",
           path, i, vocab_size);
    need(8, "a token entry");
    float score;
    int32_t len;
    std::memcpy(&score, bytes.data() + pos, 4);
    std::memcpy(&len, bytes.data() + pos + 4, 4);
    if (len < 0 || len > max_len + 8)
      fail("{}: offset {}: token {} has invalid length {}", path, pos + 4, i, len);
    if (!std::isfinite(score)) fail("{}: offset {}: token {} has a non-finite score", path, pos, i);
    pos += 8;
    need(static_cast<size_t>(len), "a token piece");
    std::string piece(reinterpret_cast<const char*>(bytes.data() + pos), static_cast<size_t>(len));
    pos += static_cast<size_t>(len);
    piece = to_sentencepiece(piece, i);
    TokenKind kind = TokenKind::Normal;
    if (i == t.unk)
      kind = TokenKind::Unknown;
    else if (i == t.bos || i == t.eos)
      kind = TokenKind::Control;
    else if (is_byte_piece(piece))
      kind = TokenKind::Byte;
    t.pieces.push_back(std::move(piece));
    t.scores.push_back(score);
    t.kinds.push_back(kind);
  }
  if (pos != bytes.size())
    fail("{}: the tokenizer has more than the model's {} tokens ({} bytes left over): wrong tokenizer for "
         "this model?",
         path, vocab_size, bytes.size() - pos);
  return t;
}

}  // namespace

ModelConfig read_llama2c_header(const std::string& path) {
  const auto file = MappedFile::open(path);
  const auto bytes = file->bytes();
  if (bytes.size() < kHeaderBytes) fail("{}: too small for a llama2.c checkpoint ({} bytes)", path, bytes.size());
  int32_t v[7];
  std::memcpy(v, bytes.data(), sizeof(v));
  const int32_t dim = v[0], hidden = v[1], layers = v[2], heads = v[3], kv_heads = v[4],
                seq_len = v[6];
  // -INT32_MIN overflows: such a vocab_size is out of range anyway.
  const int32_t vocab = v[5] == std::numeric_limits<int32_t>::min() ? 0 : v[5] < 0 ? -v[5] : v[5];
  const bool shared_classifier = v[5] > 0;
  const ModelConfig c = ModelConfig::new_model(Architecture::Llama, dim, layers, heads, kv_heads,
                                               hidden, vocab, seq_len, shared_classifier);
  try {
    c.validate();
  } catch (const InputError& e) {
    fail("{}: not a llama2.c checkpoint (header {} {} {} {} {} {} {}): {}", path, v[0], v[1], v[2],
         v[3], v[4], v[5], v[6], e.what());
  }
  const Layout lay = layout(c);
  if (bytes.size() != lay.total)
    fail("{}: size {} does not match the header (expected {} bytes for dim {}, {} layers, vocab "
         "{}): truncated, or not a legacy (version 0) llama2.c checkpoint",
         path, bytes.size(), lay.total, c.dim, c.n_layers, c.n_vocab);
  return c;
}

uint64_t convert_llama2c(const std::string& checkpoint_path, const std::string& tokenizer_path,
                         const std::string& output_path) {
  check_output_file(output_path, {checkpoint_path, tokenizer_path});
  const ModelConfig c = read_llama2c_header(checkpoint_path);
  const Vocab vocab = read_tokenizer(tokenizer_path, c.n_vocab);
  const auto file = MappedFile::open(checkpoint_path);
  const Layout lay = layout(c);
  // Mapped a second time: the size checked by read_llama2c_header must still hold.
  if (file->bytes().size() != lay.total) fail("{}: the file changed while being converted", checkpoint_path);
  const uint8_t* base = file->bytes().data();

  GgufWriter w;
  write_model_config(w, c, "llama2.c import", TensorType::F32);
  write_vocab_core(w, vocab);
  w.set_bool(vocab_key::kAddBos, true);
  w.set_bool(vocab_key::kAddEos, false);

  // Layer l's copy of a tensor follows the copies of the layers before it.
  auto add = [&](TensorKind kind, int layer) {
    const size_t bytes = tensor_bytes(kind, c);
    const size_t offset = lay.start.at(kind) + static_cast<size_t>(std::max(layer, 0)) * bytes;
    w.add_tensor_bytes(tensor_name(kind, layer), TensorType::F32, tensor_dims(kind, c),
                       {base + offset, bytes});
  };
  add(TensorKind::TokenEmbedding, -1);
  for (int l = 0; l < c.n_layers; ++l)
    for (const TensorKind kind : kLayerArrays) add(kind, l);
  add(TensorKind::OutputNorm, -1);
  if (!c.tied_output) add(TensorKind::Output, -1);
  return w.write(output_path);
}

}  // namespace aded
