#include <xxhash.h>

#include <algorithm>
#include <cstring>

#include "train/token_cache.h"

namespace aded::train {

std::optional<CachedTokens> parse_token_cache(std::span<const uint8_t> bytes, uint64_t key,
                                              int32_t vocab_size) {
  CacheHeader h;
  constexpr size_t kChecksumBytes = sizeof(uint64_t);
  if (bytes.size() < sizeof(h) + kChecksumBytes) return std::nullopt;
  std::memcpy(&h, bytes.data(), sizeof(h));
  if (std::memcmp(h.magic, kCacheMagic, sizeof(kCacheMagic)) != 0 || h.key != key)
    return std::nullopt;
  // The ids fill the file between header and checksum exactly: compared by division, so no count
  // can overflow the product (n_tokens * 4 wraps around for counts near 2^62).
  const size_t id_bytes = bytes.size() - sizeof(h) - kChecksumBytes;
  if (id_bytes % sizeof(int32_t) != 0 || h.n_tokens != id_bytes / sizeof(int32_t))
    return std::nullopt;
  const uint8_t* ids = bytes.data() + sizeof(h);
  uint64_t checksum;
  std::memcpy(&checksum, ids + id_bytes, sizeof(checksum));
  if (checksum != XXH3_64bits(ids, id_bytes)) return std::nullopt;
  CachedTokens out;
  out.tokens.resize(h.n_tokens);
  // Not memcpy with a length of 0: an empty vector's data() is null, which memcpy may not get.
  std::copy_n(ids, id_bytes, reinterpret_cast<uint8_t*>(out.tokens.data()));
  // The trainer indexes its embedding table with these ids.
  for (const int32_t id : out.tokens)
    if (id < 0 || id >= vocab_size) return std::nullopt;
  out.documents = h.documents;
  out.bytes = h.bytes;
  return out;
}

}  // namespace aded::train
