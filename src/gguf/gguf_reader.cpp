// GGUF parsing. Nothing read from the file is trusted: every length, count, type, shape and offset
// is checked against the bytes that remain before it is used.
#include <algorithm>
#include <cstring>
#include <limits>

#include "aded/error.h"
#include "aded/gguf.h"
#include "core/kernels/packing.h"
#include "gguf/gguf_keys.h"

namespace aded {

namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" little-endian
constexpr uint32_t kMaxDims = 4;
constexpr uint64_t kMaxStringLength = 1u << 26;  // 64 MiB: no real key or value comes close

size_t element_size(GgufType t) {
  switch (t) {
    case GgufType::U8: case GgufType::I8: case GgufType::BOOL: return 1;
    case GgufType::U16: case GgufType::I16: return 2;
    case GgufType::U32: case GgufType::I32: case GgufType::F32: return 4;
    case GgufType::U64: case GgufType::I64: case GgufType::F64: return 8;
    default: return 0;
  }
}

bool known_type(uint32_t t) { return t <= static_cast<uint32_t>(GgufType::F64); }

}  // namespace

std::string_view gguf_type_name(GgufType type) {
  static constexpr std::string_view names[] = {"u8",  "i8",  "u16",    "i16",   "u32",
                                               "i32", "f32", "bool",   "string", "array",
                                               "u64", "i64", "f64"};
  const auto i = static_cast<uint32_t>(type);
  return i < std::size(names) ? names[i] : std::string_view("unknown");
}

bool GgufValue::is_integer() const {
  switch (type) {
    case GgufType::U8: case GgufType::I8: case GgufType::U16: case GgufType::I16:
    case GgufType::U32: case GgufType::I32: case GgufType::U64: case GgufType::I64:
      return true;
    default: return false;
  }
}

int64_t GgufTensor::elements() const {
  int64_t n = 1;
  for (auto d : dims) n *= d;
  return n;
}

class GgufParser {
 public:
  explicit GgufParser(GgufFile& out) : out_(out), bytes_(out.file_->bytes()) {}

  void run() {
    // The magic first: a short text file is "not a GGUF file" rather than "too small".
    if (bytes_.size() >= 4 && std::memcmp(bytes_.data(), &kMagic, 4) != 0)
      error("not a GGUF file (bad magic {:02x} {:02x} {:02x} {:02x})", bytes_[0], bytes_[1],
            bytes_[2], bytes_[3]);
    if (bytes_.size() < 24) error("file too small to be GGUF ({} bytes)", bytes_.size());
    pos_ = 4;
    const size_t version_pos = pos_;
    out_.version_ = u32();
    if (out_.version_ == 1) at(version_pos, "GGUF version 1 is not supported (only 2 and 3)");
    if (out_.version_ != 2 && out_.version_ != 3) {
      if ((out_.version_ & 0xFFFF) == 0 && (out_.version_ >> 16) != 0)
        at(version_pos, "big-endian GGUF is not supported");
      at(version_pos, fmt::format("unsupported GGUF version {}", out_.version_));
    }
    const size_t counts_pos = pos_;
    const uint64_t n_tensors = u64();
    const uint64_t n_kv = u64();
    // Each metadata entry takes at least 13 bytes, each tensor info at least 28: bound the counts
    // by the file size before reserving anything.
    if (n_kv > remaining() / 13) at(counts_pos + 8, fmt::format("metadata count {} exceeds file size", n_kv));
    if (n_tensors > remaining() / 28)
      at(counts_pos, fmt::format("tensor count {} exceeds file size", n_tensors));

    for (uint64_t k = 0; k < n_kv; ++k) read_kv();
    read_alignment();
    out_.tensors_.reserve(n_tensors);
    for (uint64_t t = 0; t < n_tensors; ++t) read_tensor_info();

    const uint64_t data_start = align_up(pos_, out_.alignment_);
    if (data_start > bytes_.size() && n_tensors > 0)
      at(pos_, "tensor data section starts past the end of the file");
    out_.data_offset_ = data_start;
    check_tensor_data();
  }

 private:
  template <typename... Args>
  [[noreturn]] void error(fmt::format_string<Args...> f, Args&&... args) {
    at(pos_, fmt::format(f, std::forward<Args>(args)...));
  }
  [[noreturn]] void at(size_t offset, const std::string& what) {
    fail("{}: offset {}: {}", out_.path(), offset, what);
  }

  size_t remaining() const { return bytes_.size() - pos_; }
  void need(size_t n, const char* what) {
    if (n > remaining()) error("truncated file: {} needs {} bytes, {} remain", what, n, remaining());
  }
  template <typename T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  uint32_t u32(const char* what = "a 32-bit field") { return read<uint32_t>(what); }
  uint64_t u64(const char* what = "a 64-bit field") { return read<uint64_t>(what); }

  std::string_view str(const char* what) {
    const size_t start = pos_;
    const uint64_t len = u64(what);
    if (len > kMaxStringLength) at(start, fmt::format("{} has implausible length {}", what, len));
    need(len, what);
    std::string_view s(reinterpret_cast<const char*>(bytes_.data() + pos_), len);
    pos_ += len;
    return s;
  }

  static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

  GgufType value_type(const char* what) {
    const size_t start = pos_;
    const uint32_t t = u32(what);
    if (!known_type(t)) at(start, fmt::format("unknown metadata value type {}", t));
    return static_cast<GgufType>(t);
  }

  void read_scalar(GgufType t, GgufValue& v) {
    switch (t) {
      case GgufType::U8: v.u = read<uint8_t>("u8 value"); break;
      case GgufType::I8: v.i = read<int8_t>("i8 value"); break;
      case GgufType::U16: v.u = read<uint16_t>("u16 value"); break;
      case GgufType::I16: v.i = read<int16_t>("i16 value"); break;
      case GgufType::U32: v.u = read<uint32_t>("u32 value"); break;
      case GgufType::I32: v.i = read<int32_t>("i32 value"); break;
      case GgufType::U64: v.u = read<uint64_t>("u64 value"); break;
      case GgufType::I64: v.i = read<int64_t>("i64 value"); break;
      case GgufType::F32: v.f = read<float>("f32 value"); break;
      case GgufType::F64: v.f = read<double>("f64 value"); break;
      case GgufType::BOOL: {
        const size_t p = pos_;
        const uint8_t b = read<uint8_t>("bool value");
        if (b > 1) at(p, fmt::format("bool value {} is neither 0 nor 1", b));
        v.u = b;
        break;
      }
      case GgufType::STRING: v.str = str("string value"); break;
      case GgufType::ARRAY: break;  // handled by the caller
    }
    if (v.is_integer() && (t == GgufType::U8 || t == GgufType::U16 || t == GgufType::U32 || t == GgufType::U64)) {
      v.i = v.u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                ? std::numeric_limits<int64_t>::max()
                : static_cast<int64_t>(v.u);
    } else if (v.is_integer()) {
      v.u = v.i < 0 ? 0 : static_cast<uint64_t>(v.i);
    }
  }

  void read_kv() {
    const size_t start = pos_;
    const std::string_view key = str("metadata key");
    if (key.empty()) at(start, "empty metadata key");
    GgufValue v;
    v.type = value_type("metadata value type");
    if (v.type == GgufType::ARRAY) {
      const size_t tpos = pos_;
      v.elem_type = value_type("array element type");
      if (v.elem_type == GgufType::ARRAY)
        at(tpos, fmt::format("metadata '{}': nested arrays are not supported", key));
      const size_t cpos = pos_;
      v.count = u64("array length");
      if (v.elem_type == GgufType::STRING) {
        if (v.count > remaining() / 8)
          at(cpos, fmt::format("metadata '{}': array of {} strings exceeds file size", key, v.count));
        v.strings.reserve(v.count);
        for (uint64_t k = 0; k < v.count; ++k) v.strings.push_back(str("array string"));
      } else {
        const size_t es = element_size(v.elem_type);
        if (v.count > remaining() / es)
          at(cpos, fmt::format("metadata '{}': array of {} elements exceeds file size", key, v.count));
        v.raw = bytes_.data() + pos_;
        if (v.elem_type == GgufType::BOOL) {
          for (uint64_t k = 0; k < v.count; ++k)
            if (v.raw[k] > 1) at(pos_ + k, fmt::format("metadata '{}': bool element is not 0/1", key));
        }
        pos_ += v.count * es;
      }
    } else {
      read_scalar(v.type, v);
    }
    auto [it, inserted] = out_.kv_.emplace(std::string(key), std::move(v));
    if (!inserted) at(start, fmt::format("duplicate metadata key '{}'", key));
  }

  void read_alignment() {
    const GgufValue* a = out_.find(kAlignmentKey);
    if (!a) return;
    if (!a->is_integer() || a->u == 0 || a->u > (1u << 20) || (a->u & (a->u - 1)) != 0)
      at(pos_, fmt::format("{} must be a power of two up to 1 MiB", kAlignmentKey));
    out_.alignment_ = static_cast<uint32_t>(a->u);
  }

  void read_tensor_info() {
    const size_t start = pos_;
    GgufTensor t;
    t.name = std::string(str("tensor name"));
    if (t.name.empty()) at(start, "empty tensor name");
    const size_t dpos = pos_;
    const uint32_t n_dims = u32("tensor dimension count");
    if (n_dims == 0 || n_dims > kMaxDims)
      at(dpos, fmt::format("tensor '{}' has {} dimensions (1 to {} allowed)", t.name, n_dims, kMaxDims));
    int64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const size_t p = pos_;
      const uint64_t dim = u64("tensor dimension");
      if (dim == 0 || dim > (uint64_t{1} << 40))
        at(p, fmt::format("tensor '{}' has invalid dimension {}", t.name, dim));
      if (elements > std::numeric_limits<int64_t>::max() / static_cast<int64_t>(dim))
        at(p, fmt::format("tensor '{}' has too many elements", t.name));
      elements *= static_cast<int64_t>(dim);
      t.dims.push_back(static_cast<int64_t>(dim));
    }
    const size_t tpos = pos_;
    uint32_t raw_type = u32("tensor type");
    if (raw_type >= kPackedTypeBase && raw_type < kPackedTypeBase + 256) {
      t.packed = true;
      raw_type -= kPackedTypeBase;
    }
    const auto info = tensor_type_info(raw_type);
    if (!info) at(tpos, fmt::format("tensor '{}' has unknown type id {}", t.name, raw_type + (t.packed ? kPackedTypeBase : 0)));
    t.type = info->type;
    if (t.packed) {
      // Packed matrices (aded repack): rows rounded up to groups of 16; at most 4 bytes an element.
      if (t.dims.size() != 2 || kernels::pack_format(t.type) == kernels::PackFormat::None || !row_bytes(t.type, t.dims[0]))
        at(tpos, fmt::format("tensor '{}' is marked packed (type id {}), but {} rows of {} have no packed layout",
                             t.name, raw_type + kPackedTypeBase, info->name, t.dims[0]));
      if (elements > (int64_t{1} << 56)) at(tpos, fmt::format("tensor '{}' is too large", t.name));
      t.nbytes = kernels::packed_matrix_bytes(t.type, t.dims[1], t.dims[0]);
    } else {
      const auto rb = row_bytes(t.type, t.dims[0]);
      if (!rb)
        at(tpos, fmt::format("tensor '{}': row length {} is not a multiple of the {} block size {}",
                             t.name, t.dims[0], info->name, info->block_size));
      const int64_t rows = elements / t.dims[0];
      if (*rb != 0 && static_cast<uint64_t>(rows) > std::numeric_limits<uint64_t>::max() / *rb)
        at(tpos, fmt::format("tensor '{}' is too large", t.name));
      t.nbytes = *rb * static_cast<size_t>(rows);
    }
    const size_t opos = pos_;
    t.offset = u64("tensor data offset");
    if (t.offset % out_.alignment_ != 0)
      at(opos, fmt::format("tensor '{}': data offset {} is not aligned to {}", t.name, t.offset,
                           out_.alignment_));
    if (out_.tensor_index_.count(t.name))
      at(start, fmt::format("duplicate tensor name '{}'", t.name));
    out_.tensor_index_.emplace(t.name, out_.tensors_.size());
    out_.tensors_.push_back(std::move(t));
  }

  void check_tensor_data() {
    const uint64_t data_size = bytes_.size() > out_.data_offset_ ? bytes_.size() - out_.data_offset_ : 0;
    std::vector<std::pair<uint64_t, size_t>> spans;
    for (auto& t : out_.tensors_) {
      if (t.offset > data_size || t.nbytes > data_size - t.offset)
        fail("{}: tensor '{}' ({} bytes at data offset {}) extends past the end of the file "
             "(data section holds {} bytes): truncated file?",
             out_.path(), t.name, t.nbytes, t.offset, data_size);
      t.data = bytes_.data() + out_.data_offset_ + t.offset;
      spans.emplace_back(t.offset, spans.size());
    }
    std::sort(spans.begin(), spans.end());
    for (size_t k = 1; k < spans.size(); ++k) {
      const auto& prev = out_.tensors_[spans[k - 1].second];
      const auto& cur = out_.tensors_[spans[k].second];
      if (prev.offset + prev.nbytes > cur.offset)
        fail("{}: tensors '{}' and '{}' overlap in the data section", out_.path(), prev.name, cur.name);
    }
  }

  GgufFile& out_;
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
};

GgufFile GgufFile::open(const std::string& path) { return parse(MappedFile::open(path)); }

GgufFile GgufFile::parse(std::shared_ptr<const MappedFile> file) {
  GgufFile out;
  out.file_ = std::move(file);
  GgufParser(out).run();
  return out;
}

}  // namespace aded
