// The distillation set format: a round trip, and every kind of damage refused with a message that
// names the file and the problem.
#include <gtest/gtest.h>

#include <cstring>

#include "aded/error.h"
#include "distillation/distill_set.h"
#include "support/test_support.h"

namespace aded::distill {
namespace {

DistillSet small_set() {
  DistillSet s;
  s.info.n_vocab = 10;
  s.info.top_k = 2;
  s.info.max_tokens = 4;
  s.info.samples_per_prompt = 1;
  s.info.temperature = 0.8f;
  s.info.seed = 7;
  s.info.target_key = 0x1234;
  s.info.target_name = "target.gguf";
  Record r;
  r.prompt_key = 99;
  r.tokens = {1, 5, 6, 7};
  r.response_start = 2;
  r.top_ids = {6, 3, 7, 0};
  r.top_probs = {0.5f, 0.25f, 0.9f, 0.05f};
  r.rest = {0.25f, 0.05f};
  s.records.push_back(r);
  r.sample = 1;
  r.tokens = {1, 2};
  r.response_start = 1;
  r.top_ids = {2, 9};
  r.top_probs = {1.0f, 0.0f};
  r.rest = {0.0f};
  s.records.push_back(r);
  return s;
}

std::string error_of(std::vector<uint8_t> bytes) {
  try {
    parse_set(bytes, "set.bin");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(DistillSet, RoundTrip) {
  const DistillSet s = small_set();
  const DistillSet back = parse_set(serialize(s), "set.bin");
  EXPECT_EQ(back.info.difference(s.info), "");
  EXPECT_EQ(back.info.target_name, "target.gguf");
  ASSERT_EQ(back.records.size(), 2u);
  EXPECT_EQ(back.records[0].tokens, s.records[0].tokens);
  EXPECT_EQ(back.records[0].top_ids, s.records[0].top_ids);
  EXPECT_EQ(back.records[0].top_probs, s.records[0].top_probs);
  EXPECT_EQ(back.records[0].rest, s.records[0].rest);
  EXPECT_EQ(back.records[1].sample, 1u);
  EXPECT_EQ(back.response_positions(), 3u);
  aded::testing::TempDir dir;
  write_set((dir / "s.set").string(), s);
  EXPECT_EQ(read_set((dir / "s.set").string()).records.size(), 2u);
}

TEST(DistillSet, DamageIsRefused) {
  const std::vector<uint8_t> good = serialize(small_set());
  EXPECT_EQ(error_of(good), "");
  // Any flipped byte: a checksum, magic or range check catches it.
  for (size_t i = 0; i < good.size(); ++i) {
    auto bad = good;
    bad[i] ^= 0x40;
    EXPECT_NE(error_of(bad), "") << "byte " << i;
  }
  for (size_t n : {size_t{0}, size_t{5}, good.size() / 2, good.size() - 1}) {
    const std::string e =
        error_of(std::vector<uint8_t>(good.begin(), good.begin() + static_cast<ptrdiff_t>(n)));
    EXPECT_NE(e.find("set.bin"), std::string::npos) << e;
  }
  auto longer = good;
  longer.push_back(0);
  EXPECT_NE(error_of(longer).find("after the trailer"), std::string::npos);
  auto version = good;
  version[8] = 9;
  EXPECT_NE(error_of(version).find("version 9"), std::string::npos);
}

TEST(DistillSet, RecordsThatDoNotFitAreRefused) {
  DistillSet s = small_set();
  s.records[0].top_ids[1] = 10;
  EXPECT_THROW(check_record(s.records[0], s.info, "r"), InputError);
  s = small_set();
  s.records[0].rest[0] = 0.5f;  // sums to 1.25
  EXPECT_THROW(check_record(s.records[0], s.info, "r"), InputError);
  s = small_set();
  s.records[0].response_start = 4;
  EXPECT_THROW(check_record(s.records[0], s.info, "r"), InputError);
}

TEST(DistillSet, DifferencesAreNamed) {
  SetInfo a = small_set().info, b = a;
  b.temperature = 0;
  EXPECT_NE(a.difference(b).find("--temp"), std::string::npos);
  b = a;
  b.target_key = 1;
  EXPECT_NE(a.difference(b).find("another target"), std::string::npos);
}

}  // namespace
}  // namespace aded::distill
