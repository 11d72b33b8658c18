// libFuzzer target: the token cache reader of `aded train` on arbitrary bytes. A cache is either
// refused (the trainer then tokenizes again) or gives exactly the ids between header and checksum,
// all inside the vocabulary; nothing is allocated beyond what the bytes hold.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "seed_shapes.h"
#include "train/token_cache.h"

namespace {

constexpr uint64_t kKey = aded::fuzz::kTokenCacheKey;
constexpr int32_t kVocab = aded::fuzz::kTokenCacheVocab;

void check(bool ok, const char* invariant) {
  if (ok) return;
  std::fprintf(stderr, "token_cache_fuzz: invariant violated: %s\n", invariant);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto cached = aded::train::parse_token_cache({data, size}, kKey, kVocab);
  if (!cached) return 0;
  check(sizeof(aded::train::CacheHeader) + cached->tokens.size() * 4 + 8 == size,
        "ids fill the file");
  for (const int32_t id : cached->tokens)
    check(id >= 0 && id < kVocab, "ids inside the vocabulary");
  return 0;
}
