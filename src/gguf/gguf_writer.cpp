#include <algorithm>
#include <cstring>

#include "aded/error.h"
#include "aded/gguf.h"
#include "core/kernels/packing.h"
#include "core/output_file.h"
#include "gguf/gguf_keys.h"

namespace aded {

namespace {

template <typename T>
void append(std::vector<uint8_t>& out, T v) {
  const size_t n = out.size();
  out.resize(n + sizeof(T));
  std::memcpy(out.data() + n, &v, sizeof(T));
}

void append_string(std::vector<uint8_t>& out, std::string_view s) {
  append<uint64_t>(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

struct FileSink {
  OutputFile& file;
  uint64_t written = 0;
  void write(const void* p, size_t n) {
    file.write(p, n);
    written += n;
  }
};

struct MemorySink {
  std::vector<uint8_t>& out;
  uint64_t written = 0;
  void write(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    out.insert(out.end(), b, b + n);
    written += n;
  }
};

}  // namespace

void GgufWriter::put(std::string key, GgufType type, std::vector<uint8_t> payload) {
  for (auto& e : entries_) {
    if (e.key == key) {
      e.type = type;
      e.payload = std::move(payload);
      return;
    }
  }
  entries_.push_back({std::move(key), type, std::move(payload)});
}

void GgufWriter::set_string(std::string key, std::string value) {
  std::vector<uint8_t> p;
  append_string(p, value);
  put(std::move(key), GgufType::STRING, std::move(p));
}
void GgufWriter::set_u32(std::string key, uint32_t value) {
  std::vector<uint8_t> p;
  append(p, value);
  put(std::move(key), GgufType::U32, std::move(p));
}
void GgufWriter::set_i32(std::string key, int32_t value) {
  std::vector<uint8_t> p;
  append(p, value);
  put(std::move(key), GgufType::I32, std::move(p));
}
void GgufWriter::set_u64(std::string key, uint64_t value) {
  std::vector<uint8_t> p;
  append(p, value);
  put(std::move(key), GgufType::U64, std::move(p));
}
void GgufWriter::set_f32(std::string key, float value) {
  std::vector<uint8_t> p;
  append(p, value);
  put(std::move(key), GgufType::F32, std::move(p));
}
void GgufWriter::set_bool(std::string key, bool value) {
  std::vector<uint8_t> p;
  append<uint8_t>(p, value ? 1 : 0);
  put(std::move(key), GgufType::BOOL, std::move(p));
}
void GgufWriter::set_string_array(std::string key, std::vector<std::string> values) {
  std::vector<uint8_t> p;
  append(p, static_cast<uint32_t>(GgufType::STRING));
  append<uint64_t>(p, values.size());
  for (auto& s : values) append_string(p, s);
  put(std::move(key), GgufType::ARRAY, std::move(p));
}
void GgufWriter::set_f32_array(std::string key, std::vector<float> values) {
  std::vector<uint8_t> p;
  append(p, static_cast<uint32_t>(GgufType::F32));
  append<uint64_t>(p, values.size());
  for (float v : values) append(p, v);
  put(std::move(key), GgufType::ARRAY, std::move(p));
}
void GgufWriter::set_i32_array(std::string key, std::vector<int32_t> values) {
  std::vector<uint8_t> p;
  append(p, static_cast<uint32_t>(GgufType::I32));
  append<uint64_t>(p, values.size());
  for (int32_t v : values) append(p, v);
  put(std::move(key), GgufType::ARRAY, std::move(p));
}

void GgufWriter::copy_metadata(const GgufFile& from, std::string_view prefix) {
  for (const auto& [key, v] : from.metadata()) {
    if (key.rfind(prefix, 0) != 0) continue;
    std::vector<uint8_t> p;
    switch (v.type) {
      case GgufType::STRING: append_string(p, v.str); break;
      case GgufType::ARRAY: {
        append(p, static_cast<uint32_t>(v.elem_type));
        append<uint64_t>(p, v.count);
        if (v.elem_type == GgufType::STRING) {
          for (auto s : v.strings) append_string(p, s);
        } else {
          size_t es = 0;
          switch (v.elem_type) {
            case GgufType::U8: case GgufType::I8: case GgufType::BOOL: es = 1; break;
            case GgufType::U16: case GgufType::I16: es = 2; break;
            case GgufType::U32: case GgufType::I32: case GgufType::F32: es = 4; break;
            default: es = 8; break;
          }
          p.insert(p.end(), v.raw, v.raw + v.count * es);
        }
        break;
      }
      case GgufType::U8: append<uint8_t>(p, static_cast<uint8_t>(v.u)); break;
      case GgufType::I8: append<int8_t>(p, static_cast<int8_t>(v.i)); break;
      case GgufType::BOOL: append<uint8_t>(p, static_cast<uint8_t>(v.u)); break;
      case GgufType::U16: append<uint16_t>(p, static_cast<uint16_t>(v.u)); break;
      case GgufType::I16: append<int16_t>(p, static_cast<int16_t>(v.i)); break;
      case GgufType::U32: append<uint32_t>(p, static_cast<uint32_t>(v.u)); break;
      case GgufType::I32: append<int32_t>(p, static_cast<int32_t>(v.i)); break;
      case GgufType::U64: append<uint64_t>(p, v.u); break;
      case GgufType::I64: append<int64_t>(p, v.i); break;
      case GgufType::F32: append<float>(p, static_cast<float>(v.f)); break;
      case GgufType::F64: append<double>(p, v.f); break;
    }
    if (key == kAlignmentKey) alignment_ = static_cast<uint32_t>(v.u);
    put(key, v.type, std::move(p));
  }
}

void GgufWriter::set_alignment(uint32_t alignment) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0)
    throw Error("GGUF alignment must be a power of two");
  alignment_ = alignment;
  set_u32(kAlignmentKey, alignment);
}

void GgufWriter::add_tensor(std::string name, TensorType type, std::vector<int64_t> dims, Fill fill) {
  if (dims.empty() || dims.size() > 4) throw Error(fmt::format("tensor '{}': 1 to 4 dimensions", name));
  const auto rb = row_bytes(type, dims[0]);
  if (!rb)
    throw Error(fmt::format("tensor '{}': row length {} is not a multiple of the {} block size",
                            name, dims[0], tensor_type_name(type)));
  size_t rows = 1;
  for (size_t d = 1; d < dims.size(); ++d) rows *= static_cast<size_t>(dims[d]);
  tensors_.push_back({std::move(name), static_cast<uint32_t>(type), std::move(dims), *rb * rows, std::move(fill)});
}

void GgufWriter::add_packed_tensor(std::string name, TensorType type, std::vector<int64_t> dims, Fill fill) {
  if (dims.size() != 2) throw Error(fmt::format("tensor '{}': only matrices are packed", name));
  const size_t bytes = kernels::packed_matrix_bytes(type, dims[1], dims[0]);
  if (bytes == 0 || !row_bytes(type, dims[0]))
    throw Error(fmt::format("tensor '{}': {} rows of {} have no packed layout", name, tensor_type_name(type), dims[0]));
  tensors_.push_back({std::move(name), kPackedTypeBase + static_cast<uint32_t>(type), std::move(dims), bytes, std::move(fill)});
}

void GgufWriter::add_tensor_bytes(std::string name, TensorType type, std::vector<int64_t> dims,
                                  std::span<const uint8_t> bytes) {
  const std::string tensor_name = name;
  add_tensor(std::move(name), type, std::move(dims), [bytes, tensor_name](std::span<uint8_t> out) {
    if (out.size() != bytes.size())
      throw Error(fmt::format("tensor '{}': {} bytes given, {} expected", tensor_name, bytes.size(),
                              out.size()));
    std::memcpy(out.data(), bytes.data(), bytes.size());
  });
}

template <typename Sink>
void GgufWriter::emit(Sink& sink) const {
  std::vector<uint8_t> head;
  append<uint32_t>(head, 0x46554747);
  append<uint32_t>(head, 3);
  append<uint64_t>(head, tensors_.size());
  append<uint64_t>(head, entries_.size());
  for (const auto& e : entries_) {
    append_string(head, e.key);
    append(head, static_cast<uint32_t>(e.type));
    head.insert(head.end(), e.payload.begin(), e.payload.end());
  }
  uint64_t offset = 0;
  const auto align = [this](uint64_t x) { return (x + alignment_ - 1) / alignment_ * alignment_; };
  for (const auto& t : tensors_) {
    append_string(head, t.name);
    append<uint32_t>(head, static_cast<uint32_t>(t.dims.size()));
    for (auto d : t.dims) append<uint64_t>(head, static_cast<uint64_t>(d));
    append<uint32_t>(head, t.type_id);
    append<uint64_t>(head, offset);
    offset = align(offset + t.nbytes);
  }
  head.resize(align(head.size()), 0);
  sink.write(head.data(), head.size());
  std::vector<uint8_t> buffer;
  const uint64_t data_start = sink.written;
  for (const auto& t : tensors_) {
    buffer.assign(t.nbytes, 0);
    t.fill(buffer);
    sink.write(buffer.data(), buffer.size());
    const uint64_t pad = align(sink.written - data_start) - (sink.written - data_start);
    // Alignments go up to 1 MiB: pad in chunks of the zero block.
    static const uint8_t zeros[4096] = {};
    for (uint64_t left = pad; left > 0; left -= std::min<uint64_t>(left, sizeof(zeros)))
      sink.write(zeros, static_cast<size_t>(std::min<uint64_t>(left, sizeof(zeros))));
  }
}

uint64_t GgufWriter::write(const std::string& path) const {
  OutputFile file(path);
  FileSink sink{file};
  emit(sink);
  file.commit();
  return sink.written;
}

std::vector<uint8_t> GgufWriter::to_bytes() const {
  std::vector<uint8_t> out;
  MemorySink sink{out};
  emit(sink);
  return out;
}

}  // namespace aded
