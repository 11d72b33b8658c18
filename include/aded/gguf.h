// GGUF v2/v3: a validated, zero-copy reader over a mapped file, and a streaming writer.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aded/mapped_file.h"
#include "aded/tensor_type.h"

namespace aded {

enum class GgufType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};
std::string_view gguf_type_name(GgufType type);

// One metadata value. Scalars are widened into u/i/f; strings and arrays point into the file.
struct GgufValue {
  GgufType type = GgufType::U8;
  uint64_t u = 0;  // unsigned integers and bool
  int64_t i = 0;   // signed integers
  double f = 0;    // floats
  std::string_view str;
  // Arrays: element type, count, raw little-endian elements (not strings), or the strings.
  GgufType elem_type = GgufType::U8;
  uint64_t count = 0;
  const uint8_t* raw = nullptr;
  std::vector<std::string_view> strings;

  bool is_integer() const;
  bool is_float() const { return type == GgufType::F32 || type == GgufType::F64; }
};

// A weight matrix `aded repack` stored in the SIMD kernels' layout (groups of 16 interleaved rows,
// src/core/kernels/packing.h) has the type id kPackedTypeBase + its type's ggml id. Other readers
// (llama.cpp) refuse such a file as holding an unknown type rather than reading garbage from it.
constexpr uint32_t kPackedTypeBase = 0x4150;  // "PA"

struct GgufTensor {
  std::string name;
  std::vector<int64_t> dims;  // ggml order: dims[0] is the contiguous (row) dimension
  TensorType type = TensorType::F32;
  bool packed = false;  // in the kernels' layout (type id kPackedTypeBase + type): only aded's model loader reads it
  uint64_t offset = 0;  // relative to the data section
  const uint8_t* data = nullptr;
  size_t nbytes = 0;

  int64_t elements() const;
  int64_t rows() const { return dims.empty() ? 0 : elements() / dims[0]; }
};

class GgufFile {
 public:
  // Parses and validates; throws InputError "<file>: offset N: <problem>".
  static GgufFile open(const std::string& path);
  static GgufFile parse(std::shared_ptr<const MappedFile> file);

  const std::string& path() const { return file_->path(); }
  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  size_t file_size() const { return file_->bytes().size(); }

  const std::map<std::string, GgufValue, std::less<>>& metadata() const { return kv_; }
  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const GgufValue* find(std::string_view key) const;
  const GgufTensor* find_tensor(std::string_view name) const;

  // Typed accessors: throw InputError naming the file and key when missing or of the wrong type.
  std::string_view get_string(std::string_view key) const;
  uint64_t get_uint(std::string_view key) const;
  double get_float(std::string_view key) const;
  bool get_bool(std::string_view key) const;
  std::optional<std::string_view> string_or(std::string_view key) const;
  std::optional<uint64_t> uint_or(std::string_view key) const;
  std::optional<double> float_or(std::string_view key) const;
  std::optional<bool> bool_or(std::string_view key) const;
  // Arrays of numbers converted to the requested type (bounds-checked).
  std::vector<float> get_f32_array(std::string_view key) const;
  std::vector<int32_t> get_i32_array(std::string_view key) const;
  const std::vector<std::string_view>& get_string_array(std::string_view key) const;

  const std::shared_ptr<const MappedFile>& file() const { return file_; }

 private:
  std::shared_ptr<const MappedFile> file_;
  uint32_t version_ = 0;
  uint32_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::map<std::string, GgufValue, std::less<>> kv_;
  std::vector<GgufTensor> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
  friend class GgufParser;
};

// Writes a GGUF v3 file. Tensor bytes are produced on demand while writing, so multi-GB models
// never need to sit in memory at once.
class GgufWriter {
 public:
  using Fill = std::function<void(std::span<uint8_t> out)>;

  void set_string(std::string key, std::string value);
  void set_u32(std::string key, uint32_t value);
  void set_i32(std::string key, int32_t value);
  void set_u64(std::string key, uint64_t value);
  void set_f32(std::string key, float value);
  void set_bool(std::string key, bool value);
  void set_string_array(std::string key, std::vector<std::string> values);
  void set_f32_array(std::string key, std::vector<float> values);
  void set_i32_array(std::string key, std::vector<int32_t> values);
  // Copies the metadata entries of an existing file whose keys start with prefix (all by default).
  void copy_metadata(const GgufFile& from, std::string_view prefix = {});
  void set_alignment(uint32_t alignment);

  // dims in ggml order (dims[0] contiguous). fill receives exactly the tensor's byte size.
  void add_tensor(std::string name, TensorType type, std::vector<int64_t> dims, Fill fill);
  void add_tensor_bytes(std::string name, TensorType type, std::vector<int64_t> dims,
                        std::span<const uint8_t> bytes);
  // A matrix in the kernels' packed layout (see kPackedTypeBase); fill receives its packed size.
  void add_packed_tensor(std::string name, TensorType type, std::vector<int64_t> dims, Fill fill);

  // Writes to path through an OutputFile (core/output_file.h: a temporary file renamed over the
  // target at the end, links followed, devices written through, removed on any failure or on
  // SIGINT/SIGTERM); throws Error naming the path and the reason. Returns the bytes written.
  uint64_t write(const std::string& path) const;
  // Serializes to memory (tests, fuzz corpora).
  std::vector<uint8_t> to_bytes() const;

 private:
  struct Entry {
    std::string key;
    GgufType type;
    std::vector<uint8_t> payload;  // encoded value (for arrays: elem type + count + elements)
  };
  struct Tensor {
    std::string name;
    uint32_t type_id;
    std::vector<int64_t> dims;
    size_t nbytes;
    Fill fill;
  };
  void put(std::string key, GgufType type, std::vector<uint8_t> payload);
  template <typename Sink>
  void emit(Sink& sink) const;

  std::vector<Entry> entries_;
  std::vector<Tensor> tensors_;
  uint32_t alignment_ = 32;
};

}  // namespace aded
