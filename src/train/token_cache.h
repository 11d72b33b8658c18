// The token cache of a corpus (aded-tokens-<key>.bin): the corpus as token ids, so that a rerun
// skips tokenization. Layout, little-endian: CacheHeader (magic "ADEDTOK1", key, n_tokens,
// documents, bytes), n_tokens int32 ids, then the XXH3-64 of the ids.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace aded::train {

inline constexpr char kCacheMagic[8] = {'A', 'D', 'E', 'D', 'T', 'O', 'K', '1'};

struct CacheHeader {
  char magic[8];
  uint64_t key, n_tokens, documents, bytes;
};

struct CachedTokens {
  std::vector<int32_t> tokens;
  uint64_t documents = 0;
  uint64_t bytes = 0;
};

// The tokens of a cache file's bytes, or nullopt when they are not a complete, intact cache of
// the corpus `key` whose ids all lie in [0, vocab_size): the caller then tokenizes again. The
// count field is checked against the file's size before anything is allocated, so an edited
// count (with a checksum that still matches) is refused, never trusted.
std::optional<CachedTokens> parse_token_cache(std::span<const uint8_t> bytes, uint64_t key,
                                              int32_t vocab_size);

}  // namespace aded::train
