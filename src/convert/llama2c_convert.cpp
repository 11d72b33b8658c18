// llama2.c legacy checkpoints: a header of 7 int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads,
// vocab_size, seq_len; a negative vocab_size means a separate classifier), then fp32 weights in a
// fixed order. Its tokenizer.bin: int32 max piece length, then per token: f32 score, int32 length,
// bytes (with "▁" written as a space, and BOS/EOS as "\n<s>\n" / "\n</s>\n").
#include <cstring>
#include <limits>

#include "aded/convert.h"
#include "aded/error.h"
#include "aded/gguf.h"
#include "aded/mapped_file.h"

namespace aded {

namespace {

constexpr size_t kHeaderBytes = 7 * sizeof(int32_t);

struct Layout {
  size_t embedding, rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3, rms_final, freq, wcls, total;
};

Layout layout(const Llama2cCheckpoint& h) {
  const size_t dim = static_cast<size_t>(h.dim), hidden = static_cast<size_t>(h.hidden_dim),
               L = static_cast<size_t>(h.n_layers), vocab = static_cast<size_t>(h.vocab_size),
               head = dim / static_cast<size_t>(h.n_heads), kv = head * static_cast<size_t>(h.n_kv_heads),
               seq = static_cast<size_t>(h.seq_len);
  Layout o{};
  size_t at = kHeaderBytes;
  auto take = [&at](size_t floats) {
    const size_t start = at;
    at += floats * sizeof(float);
    return start;
  };
  o.embedding = take(vocab * dim);
  o.rms_att = take(L * dim);
  o.wq = take(L * dim * dim);
  o.wk = take(L * dim * kv);
  o.wv = take(L * dim * kv);
  o.wo = take(L * dim * dim);
  o.rms_ffn = take(L * dim);
  o.w1 = take(L * dim * hidden);
  o.w2 = take(L * hidden * dim);
  o.w3 = take(L * dim * hidden);
  o.rms_final = take(dim);
  o.freq = take(seq * head);  // freq_cis_real and freq_cis_imag, unused
  o.wcls = take(h.shared_classifier ? 0 : vocab * dim);
  o.total = at;
  return o;
}

std::string to_sentencepiece(std::string piece, int id) {
  if (id == 1) return "<s>";
  if (id == 2) return "</s>";
  std::string out;
  for (char ch : piece) {
    if (ch == ' ')
      out += "\xE2\x96\x81";  // U+2581
    else
      out += ch;
  }
  return out;
}

bool is_byte_piece(const std::string& p) {
  return p.size() == 6 && p.compare(0, 3, "<0x") == 0 && p[5] == '>' && std::isxdigit(static_cast<unsigned char>(p[3])) &&
         std::isxdigit(static_cast<unsigned char>(p[4]));
}

struct TokenizerData {
  std::vector<std::string> pieces;
  std::vector<float> scores;
  std::vector<int32_t> types;
};

TokenizerData read_tokenizer(const std::string& path, int vocab_size) {
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
  TokenizerData t;
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
    piece = to_sentencepiece(std::move(piece), i);
    int32_t type = 1;  // normal
    if (i == 0) type = 2;  // unknown
    else if (i == 1 || i == 2) type = 3;  // control
    else if (is_byte_piece(piece)) type = 6;  // byte
    t.pieces.push_back(std::move(piece));
    t.scores.push_back(score);
    t.types.push_back(type);
  }
  if (pos != bytes.size())
    fail("{}: the tokenizer has more than the model's {} tokens ({} bytes left over): wrong tokenizer for "
         "this model?",
         path, vocab_size, bytes.size() - pos);
  return t;
}

}  // namespace

Llama2cCheckpoint read_llama2c_header(const std::string& path) {
  const auto file = MappedFile::open(path);
  const auto bytes = file->bytes();
  if (bytes.size() < kHeaderBytes) fail("{}: too small for a llama2.c checkpoint ({} bytes)", path, bytes.size());
  int32_t v[7];
  std::memcpy(v, bytes.data(), sizeof(v));
  // -INT32_MIN overflows: such a vocab_size is out of range anyway.
  const int32_t vocab = v[5] == std::numeric_limits<int32_t>::min() ? 0 : v[5] < 0 ? -v[5] : v[5];
  Llama2cCheckpoint h{v[0], v[1], v[2], v[3], v[4], vocab, v[6], v[5] > 0};
  const auto in_range = [](int x, int hi) { return x > 0 && x <= hi; };
  if (!in_range(h.dim, 1 << 16) || !in_range(h.hidden_dim, 1 << 18) || !in_range(h.n_layers, 1024) ||
      !in_range(h.n_heads, 1024) || !in_range(h.n_kv_heads, 1024) || !in_range(h.vocab_size, 1 << 22) ||
      !in_range(h.seq_len, 1 << 22))
    fail("{}: not a llama2.c checkpoint (header {} {} {} {} {} {} {})", path, v[0], v[1], v[2], v[3], v[4], v[5], v[6]);
  if (h.dim % h.n_heads != 0 || h.n_heads % h.n_kv_heads != 0 || (h.dim / h.n_heads) % 2 != 0)
    fail("{}: inconsistent llama2.c header: dim {} heads {} kv heads {}", path, h.dim, h.n_heads, h.n_kv_heads);
  const Layout lay = layout(h);
  if (bytes.size() != lay.total)
    fail("{}: size {} does not match the header (expected {} bytes for dim {}, {} layers, vocab {}): "
         "truncated, or not a legacy (version 0) llama2.c checkpoint",
         path, bytes.size(), lay.total, h.dim, h.n_layers, h.vocab_size);
  return h;
}

void convert_llama2c(const std::string& checkpoint_path, const std::string& tokenizer_path,
                     const std::string& output_path) {
  const Llama2cCheckpoint h = read_llama2c_header(checkpoint_path);
  const TokenizerData tok = read_tokenizer(tokenizer_path, h.vocab_size);
  const auto file = MappedFile::open(checkpoint_path);
  const Layout lay = layout(h);
  // Mapped a second time: the size checked by read_llama2c_header must still hold.
  if (file->bytes().size() != lay.total) fail("{}: the file changed while being converted", checkpoint_path);
  const uint8_t* base = file->bytes().data();

  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_string("general.name", "llama2.c import");
  w.set_u32("llama.context_length", static_cast<uint32_t>(h.seq_len));
  w.set_u32("llama.embedding_length", static_cast<uint32_t>(h.dim));
  w.set_u32("llama.block_count", static_cast<uint32_t>(h.n_layers));
  w.set_u32("llama.feed_forward_length", static_cast<uint32_t>(h.hidden_dim));
  w.set_u32("llama.attention.head_count", static_cast<uint32_t>(h.n_heads));
  w.set_u32("llama.attention.head_count_kv", static_cast<uint32_t>(h.n_kv_heads));
  w.set_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  w.set_u32("llama.rope.dimension_count", static_cast<uint32_t>(h.dim / h.n_heads));
  w.set_f32("llama.rope.freq_base", 10000.0f);
  w.set_u32("general.file_type", 0);  // all F32
  w.set_string("tokenizer.ggml.model", "llama");
  w.set_string_array("tokenizer.ggml.tokens", tok.pieces);
  w.set_f32_array("tokenizer.ggml.scores", tok.scores);
  w.set_i32_array("tokenizer.ggml.token_type", tok.types);
  w.set_u32("tokenizer.ggml.bos_token_id", 1);
  w.set_u32("tokenizer.ggml.eos_token_id", 2);
  w.set_u32("tokenizer.ggml.unknown_token_id", 0);
  w.set_bool("tokenizer.ggml.add_bos_token", true);
  w.set_bool("tokenizer.ggml.add_eos_token", false);

  const int64_t dim = h.dim, hidden = h.hidden_dim, kv = dim / h.n_heads * h.n_kv_heads, vocab = h.vocab_size;
  auto add = [&](std::string name, size_t offset, std::vector<int64_t> dims) {
    int64_t n = 1;
    for (auto d : dims) n *= d;
    w.add_tensor_bytes(std::move(name), TensorType::F32, std::move(dims),
                       {base + offset, static_cast<size_t>(n) * sizeof(float)});
  };
  add("token_embd.weight", lay.embedding, {dim, vocab});
  for (int64_t l = 0; l < h.n_layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    const auto f = sizeof(float);
    add(p + "attn_norm.weight", lay.rms_att + static_cast<size_t>(l * dim) * f, {dim});
    add(p + "attn_q.weight", lay.wq + static_cast<size_t>(l * dim * dim) * f, {dim, dim});
    add(p + "attn_k.weight", lay.wk + static_cast<size_t>(l * dim * kv) * f, {dim, kv});
    add(p + "attn_v.weight", lay.wv + static_cast<size_t>(l * dim * kv) * f, {dim, kv});
    add(p + "attn_output.weight", lay.wo + static_cast<size_t>(l * dim * dim) * f, {dim, dim});
    add(p + "ffn_norm.weight", lay.rms_ffn + static_cast<size_t>(l * dim) * f, {dim});
    add(p + "ffn_gate.weight", lay.w1 + static_cast<size_t>(l * dim * hidden) * f, {dim, hidden});
    add(p + "ffn_down.weight", lay.w2 + static_cast<size_t>(l * hidden * dim) * f, {hidden, dim});
    add(p + "ffn_up.weight", lay.w3 + static_cast<size_t>(l * dim * hidden) * f, {dim, hidden});
  }
  add("output_norm.weight", lay.rms_final, {dim});
  if (!h.shared_classifier) add("output.weight", lay.wcls, {dim, vocab});
  w.write(output_path);
}

}  // namespace aded
