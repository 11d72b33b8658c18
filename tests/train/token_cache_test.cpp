// The token cache reader: a cache is used only when it is complete, intact and for this corpus;
// anything else (an edited count whose checksum still matches, ids outside the vocabulary, a
// short file) makes the corpus be tokenized again, never a crash or a huge allocation.
#include <gtest/gtest.h>
#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <limits>

#include <fmt/format.h>

#include "aded/thread_pool.h"
#include "train/token_cache.h"
#include "train/token_corpus.h"
#include "train/train_test_support.h"

namespace aded::train {
namespace {

constexpr uint64_t kKey = 0x1234;
constexpr int32_t kVocab = 100;

// A cache file as the writer lays it out, with any count field and a checksum of the ids given.
std::vector<uint8_t> cache_bytes(const std::vector<int32_t>& ids, uint64_t count_field) {
  CacheHeader h{};
  std::memcpy(h.magic, kCacheMagic, sizeof(h.magic));
  h.key = kKey;
  h.n_tokens = count_field;
  h.documents = 1;
  h.bytes = 10;
  std::vector<uint8_t> out(sizeof(h) + ids.size() * 4 + 8);
  std::memcpy(out.data(), &h, sizeof(h));
  std::copy_n(reinterpret_cast<const uint8_t*>(ids.data()), ids.size() * 4, out.data() + sizeof(h));
  const uint64_t checksum = XXH3_64bits(ids.data(), ids.size() * 4);
  std::memcpy(out.data() + sizeof(h) + ids.size() * 4, &checksum, 8);
  return out;
}

TEST(TokenCache, ReadsWhatTheWriterLaysOut) {
  const std::vector<int32_t> ids = {1, 5, 99, 0};
  const auto cached = parse_token_cache(cache_bytes(ids, ids.size()), kKey, kVocab);
  ASSERT_TRUE(cached.has_value());
  EXPECT_EQ(cached->tokens, ids);
  EXPECT_EQ(cached->documents, 1u);
  EXPECT_FALSE(parse_token_cache(cache_bytes(ids, ids.size()), kKey + 1, kVocab));
  EXPECT_TRUE(parse_token_cache(cache_bytes({}, 0), kKey, kVocab).has_value());
}

// The example: a count of 2^62 + n makes n_tokens * 4 wrap around to the file's real size.
TEST(TokenCache, EditedCountsAreRefusedWhateverTheirSize) {
  const std::vector<int32_t> ids = {1, 2, 3};
  for (const uint64_t count :
       {uint64_t{0}, uint64_t{2}, uint64_t{4}, (uint64_t{1} << 62) + 3, (uint64_t{1} << 63) + 3,
        (uint64_t{3} << 62) + 3, std::numeric_limits<uint64_t>::max(),
        std::numeric_limits<uint64_t>::max() / 4}) {
    EXPECT_FALSE(parse_token_cache(cache_bytes(ids, count), kKey, kVocab)) << count;
  }
}

TEST(TokenCache, IdsOutsideTheVocabularyAreRefused) {
  for (const int32_t bad : {-1, kVocab, std::numeric_limits<int32_t>::min()})
    EXPECT_FALSE(parse_token_cache(cache_bytes({1, bad, 2}, 3), kKey, kVocab)) << bad;
}

TEST(TokenCache, ShortOrDamagedFilesAreRefused) {
  const auto good = cache_bytes({1, 2, 3}, 3);
  for (size_t n = 0; n < good.size(); ++n)
    EXPECT_FALSE(parse_token_cache({good.data(), n}, kKey, kVocab)) << n;
  auto flipped = good;
  flipped[sizeof(CacheHeader)] ^= 1;  // an id changed: the checksum no longer matches
  EXPECT_FALSE(parse_token_cache(flipped, kKey, kVocab));
  auto extra = good;
  extra.push_back(0);
  EXPECT_FALSE(parse_token_cache(extra, kKey, kVocab));
}

// End to end: a cache edited at its count field (checksum still valid) is rebuilt.
TEST(TokenCache, AnEditedCacheIsRebuiltByLoadCorpus) {
  aded::testing::TempDir dir;
  testing::write_char_vocab(dir / "vocab.gguf");
  aded::testing::write_file(dir / "corpus.txt", testing::make_corpus(2000, 3));
  const auto vocab_file = GgufFile::open((dir / "vocab.gguf").string());
  const auto tokenizer = Tokenizer::from_gguf(vocab_file);
  ThreadPool pool(1);
  CorpusOptions o;
  o.files = {(dir / "corpus.txt").string()};
  o.vocab_path = (dir / "vocab.gguf").string();
  o.cache_dir = dir.path().string();
  const CorpusTokens first = load_corpus(o, *tokenizer, pool);
  ASSERT_FALSE(first.from_cache);
  ASSERT_TRUE(std::filesystem::exists(first.cache_path));
  EXPECT_TRUE(load_corpus(o, *tokenizer, pool).from_cache);

  for (const uint64_t count : {(uint64_t{1} << 62) + first.tokens.size(), uint64_t{1} << 40}) {
    std::string bytes = aded::testing::read_file(first.cache_path);
    std::memcpy(bytes.data() + offsetof(CacheHeader, n_tokens), &count, sizeof(count));
    aded::testing::write_file(first.cache_path, bytes);
    const CorpusTokens again = load_corpus(o, *tokenizer, pool);
    EXPECT_FALSE(again.from_cache);
    EXPECT_EQ(again.tokens, first.tokens);
  }
}

}  // namespace
}  // namespace aded::train
