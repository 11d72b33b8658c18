// Typed access to GGUF metadata, with errors that name the file and the key.
#include <cmath>
#include <cstring>
#include <limits>

#include "aded/error.h"
#include "aded/gguf.h"

namespace aded {

namespace {

template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// Element k of a numeric array as double (exact for all integer widths that matter here).
double numeric_element(const GgufValue& v, uint64_t k) {
  const uint8_t* p = v.raw;
  switch (v.elem_type) {
    case GgufType::U8: return p[k];
    case GgufType::I8: return static_cast<int8_t>(p[k]);
    case GgufType::BOOL: return p[k];
    case GgufType::U16: return load<uint16_t>(p + 2 * k);
    case GgufType::I16: return load<int16_t>(p + 2 * k);
    case GgufType::U32: return load<uint32_t>(p + 4 * k);
    case GgufType::I32: return load<int32_t>(p + 4 * k);
    case GgufType::F32: return load<float>(p + 4 * k);
    case GgufType::U64: return static_cast<double>(load<uint64_t>(p + 8 * k));
    case GgufType::I64: return static_cast<double>(load<int64_t>(p + 8 * k));
    case GgufType::F64: return load<double>(p + 8 * k);
    default: return 0;
  }
}

}  // namespace

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = kv_.find(key);
  return it == kv_.end() ? nullptr : &it->second;
}

const GgufTensor* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::optional<std::string_view> GgufFile::string_or(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufType::STRING)
    fail("{}: metadata '{}' should be a string, not {}", path(), key, gguf_type_name(v->type));
  return v->str;
}

std::optional<uint64_t> GgufFile::uint_or(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_integer())
    fail("{}: metadata '{}' should be an integer, not {}", path(), key, gguf_type_name(v->type));
  if (v->type == GgufType::I8 || v->type == GgufType::I16 || v->type == GgufType::I32 ||
      v->type == GgufType::I64) {
    if (v->i < 0) fail("{}: metadata '{}' is negative ({})", path(), key, v->i);
  }
  return v->u;
}

std::optional<double> GgufFile::float_or(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->is_float()) return v->f;
  if (v->is_integer()) return static_cast<double>(v->i);
  fail("{}: metadata '{}' should be a number, not {}", path(), key, gguf_type_name(v->type));
}

std::optional<bool> GgufFile::bool_or(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufType::BOOL)
    fail("{}: metadata '{}' should be a bool, not {}", path(), key, gguf_type_name(v->type));
  return v->u != 0;
}

std::string_view GgufFile::get_string(std::string_view key) const {
  if (auto v = string_or(key)) return *v;
  fail("{}: missing metadata '{}'", path(), key);
}

uint64_t GgufFile::get_uint(std::string_view key) const {
  if (auto v = uint_or(key)) return *v;
  fail("{}: missing metadata '{}'", path(), key);
}

double GgufFile::get_float(std::string_view key) const {
  if (auto v = float_or(key)) return *v;
  fail("{}: missing metadata '{}'", path(), key);
}

bool GgufFile::get_bool(std::string_view key) const {
  if (auto v = bool_or(key)) return *v;
  fail("{}: missing metadata '{}'", path(), key);
}

std::vector<float> GgufFile::get_f32_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) fail("{}: missing metadata '{}'", path(), key);
  if (v->type != GgufType::ARRAY || v->elem_type == GgufType::STRING)
    fail("{}: metadata '{}' should be an array of numbers", path(), key);
  std::vector<float> out(v->count);
  for (uint64_t k = 0; k < v->count; ++k) out[k] = static_cast<float>(numeric_element(*v, k));
  return out;
}

std::vector<int32_t> GgufFile::get_i32_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) fail("{}: missing metadata '{}'", path(), key);
  if (v->type != GgufType::ARRAY || v->elem_type == GgufType::STRING || v->elem_type == GgufType::F32 ||
      v->elem_type == GgufType::F64)
    fail("{}: metadata '{}' should be an array of integers", path(), key);
  std::vector<int32_t> out(v->count);
  for (uint64_t k = 0; k < v->count; ++k) {
    const double x = numeric_element(*v, k);
    if (x < std::numeric_limits<int32_t>::min() || x > std::numeric_limits<int32_t>::max())
      fail("{}: metadata '{}'[{}] = {} does not fit in 32 bits", path(), key, k, x);
    out[k] = static_cast<int32_t>(x);
  }
  return out;
}

const std::vector<std::string_view>& GgufFile::get_string_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) fail("{}: missing metadata '{}'", path(), key);
  if (v->type != GgufType::ARRAY || v->elem_type != GgufType::STRING)
    fail("{}: metadata '{}' should be an array of strings", path(), key);
  return v->strings;
}

}  // namespace aded
