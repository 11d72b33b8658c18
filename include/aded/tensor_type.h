// Tensor element types of GGUF/ggml files: ids, block layouts, and byte sizes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace aded {

// Values are the on-disk ggml type ids.
enum class TensorType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  BF16 = 30,
};

struct TensorTypeInfo {
  TensorType type;
  std::string_view name;
  int block_size;    // elements per block
  int block_bytes;   // bytes per block
  bool can_compute;  // the engine has kernels for it (others are recognized only to name them)
};

// nullopt for ids this build does not know at all.
std::optional<TensorTypeInfo> tensor_type_info(uint32_t raw_id);
const TensorTypeInfo& tensor_type_info(TensorType type);
std::string_view tensor_type_name(TensorType type);
// Parses "F16", "q8_0", ... (case-insensitive).
std::optional<TensorType> parse_tensor_type(std::string_view name);

// Bytes of a row of n elements; nullopt when n is not a multiple of the block size.
std::optional<size_t> row_bytes(TensorType type, int64_t n);

}  // namespace aded
