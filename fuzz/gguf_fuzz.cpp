// libFuzzer target: the GGUF reader and everything that consumes a parsed file — every typed
// metadata accessor, the tensor table, the writer (a file the reader accepts must survive a
// write/read round trip unchanged), the vocabulary and tokenizer, and the model loader followed by
// one forward step of any model that loads.
//
// Untrusted bytes may only ever be rejected with aded::InputError. Any other exception escaping
// (libFuzzer reports it as a crash), a sanitizer report, a leak or a failed invariant is a bug.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aded/context.h"
#include "aded/error.h"
#include "aded/gguf.h"
#include "aded/mapped_file.h"
#include "aded/model.h"
#include "aded/tokenizer.h"

namespace {

void check(bool ok, const char* invariant) {
  if (ok) return;
  std::fprintf(stderr, "gguf_fuzz: invariant violated: %s\n", invariant);
  std::abort();
}

// Runs fn; a rejection of the input (InputError) is an expected outcome, anything else is not.
template <typename Fn>
bool accepted(Fn&& fn) {
  try {
    fn();
    return true;
  } catch (const aded::InputError&) {
    return false;
  }
}

bool inside(std::span<const uint8_t> file, const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  return b >= file.data() && n <= file.size() &&
         static_cast<size_t>(b - file.data()) <= file.size() - n;
}

// Every accessor on every key: each either answers or throws InputError.
void read_metadata(const aded::GgufFile& f) {
  const auto file = f.file()->bytes();
  for (const auto& entry : f.metadata()) {
    const std::string& key = entry.first;  // named, not bound: lambdas below capture it
    const aded::GgufValue& value = entry.second;
    check(f.find(key) == &value, "find() returns the parsed entry");
    (void)aded::gguf_type_name(value.type);
    if (value.type == aded::GgufType::STRING)
      check(inside(file, value.str.data(), value.str.size()), "string in file");
    for (const auto s : value.strings)
      check(inside(file, s.data(), s.size()), "array string in file");
    accepted([&] { (void)f.string_or(key); });
    accepted([&] { (void)f.uint_or(key); });
    accepted([&] { (void)f.float_or(key); });
    accepted([&] { (void)f.bool_or(key); });
    accepted([&] { (void)f.get_string(key); });
    accepted([&] { (void)f.get_uint(key); });
    accepted([&] { (void)f.get_float(key); });
    accepted([&] { (void)f.get_bool(key); });
    accepted([&] { check(f.get_f32_array(key).size() == value.count, "f32 array length"); });
    accepted([&] { check(f.get_i32_array(key).size() == value.count, "i32 array length"); });
    accepted([&] { check(f.get_string_array(key).size() == value.count, "string array length"); });
  }
  check(!accepted([&] { (void)f.get_uint("no such key"); }), "a missing key is an error");
}

void read_tensors(const aded::GgufFile& f) {
  const auto file = f.file()->bytes();
  for (const auto& t : f.tensors()) {
    check(f.find_tensor(t.name) == &t, "find_tensor() returns the parsed tensor");
    check(!t.dims.empty() && t.dims.size() <= 4, "1 to 4 dimensions");
    const auto row = aded::row_bytes(t.type, t.dims[0]);
    check(row.has_value() && *row * static_cast<size_t>(t.rows()) == t.nbytes,
          "byte size matches shape");
    check(inside(file, t.data, t.nbytes), "tensor data inside the file");
    // Touch both ends so ASan sees any out-of-bounds view.
    volatile uint8_t first = t.data[0], last = t.data[t.nbytes - 1];
    (void)first;
    (void)last;
  }
}

size_t element_size(aded::GgufType t) {
  switch (t) {
    case aded::GgufType::U8:
    case aded::GgufType::I8:
    case aded::GgufType::BOOL:
      return 1;
    case aded::GgufType::U16:
    case aded::GgufType::I16:
      return 2;
    case aded::GgufType::U32:
    case aded::GgufType::I32:
    case aded::GgufType::F32:
      return 4;
    case aded::GgufType::U64:
    case aded::GgufType::I64:
    case aded::GgufType::F64:
      return 8;
    default:
      return 0;
  }
}

bool same_value(const aded::GgufValue& a, const aded::GgufValue& b) {
  const bool same_float = a.f == b.f || (std::isnan(a.f) && std::isnan(b.f));
  const size_t raw_bytes = a.raw ? a.count * element_size(a.elem_type) : 0;
  return a.type == b.type && a.elem_type == b.elem_type && a.count == b.count && a.u == b.u &&
         a.i == b.i && same_float && a.str == b.str && a.strings == b.strings &&
         (raw_bytes == 0 || std::equal(a.raw, a.raw + raw_bytes, b.raw));
}

// What the reader accepts, the writer must reproduce: same metadata, same tensors and bytes.
void round_trip(const aded::GgufFile& f) {
  aded::GgufWriter w;
  w.copy_metadata(f);
  for (const auto& t : f.tensors()) {
    if (!t.packed) {
      w.add_tensor_bytes(t.name, t.type, t.dims, {t.data, t.nbytes});
      continue;
    }
    w.add_packed_tensor(t.name, t.type, t.dims, [&t](std::span<uint8_t> out) {
      check(out.size() == t.nbytes, "a packed tensor keeps its size");
      std::copy(t.data, t.data + t.nbytes, out.begin());
    });
  }
  const auto again =
      aded::GgufFile::parse(aded::MappedFile::from_bytes(w.to_bytes(), "round-trip.gguf"));
  check(again.metadata().size() == f.metadata().size(), "round trip keeps every key");
  for (const auto& [key, value] : f.metadata()) {
    const aded::GgufValue* v = again.find(key);
    check(v && same_value(value, *v), "round trip keeps each value");
  }
  check(again.tensors().size() == f.tensors().size(), "round trip keeps every tensor");
  for (const auto& t : f.tensors()) {
    const aded::GgufTensor* u = again.find_tensor(t.name);
    check(u && u->dims == t.dims && u->type == t.type && u->packed == t.packed && u->nbytes == t.nbytes &&
              std::equal(t.data, t.data + t.nbytes, u->data),
          "round trip keeps each tensor");
  }
}

void use_tokenizer(const aded::GgufFile& f) {
  aded::Vocab vocab;
  if (!accepted([&] { vocab = aded::Vocab::from_gguf(f); })) return;
  check(vocab.pieces.size() == vocab.kinds.size(), "one kind per piece");
  std::unique_ptr<aded::Tokenizer> tok;
  if (!accepted([&] { tok = aded::Tokenizer::from_vocab(std::move(vocab)); })) return;
  for (const bool special : {false, true}) {
    const auto ids = tok->encode("Hello, world!\n <s> 12 \xC3\xA9\xE2\x96\x81 x", true, special);
    for (const int32_t id : ids) check(tok->valid(id), "encode gives valid ids");
    (void)tok->decode(ids);
  }
  std::vector<int32_t> all(static_cast<size_t>(std::min(tok->size(), 1024)));
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int32_t>(i);
  (void)tok->decode(all);
}

void run_model(const aded::GgufFile& f) {
  std::shared_ptr<const aded::Model> model;
  if (!accepted([&] { model = aded::Model::from_gguf(f); })) return;
  aded::ContextOptions options;
  options.n_ctx = 2;
  options.n_threads = 1;
  // Non-finite weights are refused when the context packs them, logits that overflow by the
  // forward: both are InputErrors about the file.
  std::unique_ptr<aded::Context> ctx;
  if (!accepted([&] { ctx = std::make_unique<aded::Context>(model, options); })) return;
  const int32_t token =
      model->tokenizer().valid(model->tokenizer().bos()) ? model->tokenizer().bos() : 0;
  if (!accepted([&] { ctx->forward(aded::Batch::sequence({&token, 1}, 0, true)); })) return;
  check(ctx->logits(0).size() == static_cast<size_t>(model->config().n_vocab),
        "one logit per token");
  for (const float v : ctx->logits(0))
    check(std::isfinite(v), "logits of an accepted forward are finite");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  std::unique_ptr<aded::GgufFile> file;
  if (!accepted([&] {
        file = std::make_unique<aded::GgufFile>(
            aded::GgufFile::parse(aded::MappedFile::from_bytes(std::move(bytes), "fuzz.gguf")));
      }))
    return 0;
  read_metadata(*file);
  read_tensors(*file);
  round_trip(*file);
  use_tokenizer(*file);
  run_model(*file);
  return 0;
}
