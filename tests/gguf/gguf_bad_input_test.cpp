// Bad GGUF input: truncations, random corruption, hand-crafted adversarial files, and models whose
// metadata or tensors do not fit together. Every one must be rejected with an InputError that
// names the file and the problem; none may crash, hang or throw anything else.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "aded/convert.h"
#include "aded/error.h"
#include "aded/gguf.h"
#include "aded/model.h"
#include "aded/tokenizer.h"
#include "gguf/tiny_model.h"
#include "support/test_support.h"

namespace aded {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using aded::testing::model_rejection;
using aded::testing::parse;
using aded::testing::rejection;
using aded::testing::TinyModel;

constexpr uint32_t kMagic = 0x46554747;  // "GGUF"
constexpr uint32_t kTypeU32 = 4, kTypeString = 8, kTypeArray = 9;
constexpr uint32_t kF32 = 0, kQ8_0 = 8;

// ------------------------------------------------------------------------------------------------
// Helpers

// A GGUF file written field by field, for the inputs GgufWriter refuses to produce.
class RawGguf {
 public:
  RawGguf& u8(uint8_t v) { return put(v); }
  RawGguf& u32(uint32_t v) { return put(v); }
  RawGguf& u64(uint64_t v) { return put(v); }
  RawGguf& str(std::string_view s) {
    u64(s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
    return *this;
  }
  RawGguf& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    return u32(kMagic).u32(version).u64(n_tensors).u64(n_kv);
  }
  RawGguf& kv_u32(std::string_view key, uint32_t v) { return str(key).u32(kTypeU32).u32(v); }
  RawGguf& kv_string(std::string_view key, std::string_view v) { return str(key).u32(kTypeString).str(v); }
  RawGguf& tensor(std::string_view name, const std::vector<uint64_t>& dims, uint32_t type, uint64_t offset) {
    str(name).u32(static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) u64(d);
    return u32(type).u64(offset);
  }
  RawGguf& align(size_t alignment = 32) {
    while (bytes.size() % alignment != 0) bytes.push_back(0);
    return *this;
  }
  RawGguf& zeros(size_t n) {
    bytes.insert(bytes.end(), n, 0);
    return *this;
  }

  std::vector<uint8_t> bytes;

 private:
  template <typename T>
  RawGguf& put(T v) {
    const size_t n = bytes.size();
    bytes.resize(n + sizeof(T));
    std::memcpy(bytes.data() + n, &v, sizeof(T));
    return *this;
  }
};

std::string parse_rejection(std::vector<uint8_t> bytes) {
  return rejection([&] { (void)parse(std::move(bytes)); });
}

// A one-tensor file with the tensor-info section given by the caller (nothing else).
std::vector<uint8_t> with_tensors(const std::function<void(RawGguf&)>& infos, uint64_t n_tensors,
                                  size_t data_bytes = 256) {
  RawGguf g;
  g.header(n_tensors, 0);
  infos(g);
  return g.align().zeros(data_bytes).bytes;
}

// ------------------------------------------------------------------------------------------------
// The helpers themselves produce valid input.

TEST(GgufBadInput, BaselinesAreValid) {
  EXPECT_NO_THROW(parse(with_tensors([](RawGguf& g) { g.tensor("t", {32}, kF32, 0); }, 1)));
  const auto model = TinyModel{}.load();
  EXPECT_EQ(model->config().n_vocab, 6);
  EXPECT_EQ(model->tokenizer().size(), 6);
}

// ------------------------------------------------------------------------------------------------
// Truncation and random corruption

TEST(GgufBadInput, EveryTruncationIsRejectedNamingFileAndOffset) {
  const auto bytes = TinyModel{}.bytes();
  const GgufFile whole = parse(bytes);
  size_t needed = 0;
  for (const auto& t : whole.tensors())
    needed = std::max<size_t>(needed, whole.data_offset() + t.offset + t.nbytes);
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    if (n >= needed) {  // only padding is missing
      EXPECT_NO_THROW(parse(cut)) << n;
      continue;
    }
    const std::string message = rejection([&] { (void)parse(cut, "cut.gguf"); });
    EXPECT_THAT(message, HasSubstr("cut.gguf")) << n;
    EXPECT_TRUE(message.find("truncated") != std::string::npos || message.find("offset") != std::string::npos)
        << n << ": " << message;
  }
}

// Parses, and if that works builds the vocabulary and the model: each step either succeeds or
// throws an InputError naming the file.
void expect_parse_or_input_error(std::vector<uint8_t> bytes, const std::string& what) {
  try {
    const GgufFile f = parse(std::move(bytes), "corrupt.gguf");
    try {
      (void)Vocab::from_gguf(f);
    } catch (const InputError& e) {
      EXPECT_THAT(e.what(), HasSubstr("corrupt.gguf")) << what;
    }
    (void)Model::from_gguf(f);
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("corrupt.gguf")) << what;
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": not an InputError: " << e.what();
  }
}

TEST(GgufBadInput, RandomBitFlipsParseOrThrowInputError) {
  const auto bytes = TinyModel{}.bytes();
  const size_t header = parse(bytes).data_offset();
  std::mt19937_64 rng(20240601);
  for (int trial = 0; trial < 3000; ++trial) {
    auto flipped = bytes;
    // Most flips land in the header, where every byte is a length, count, type or offset.
    const size_t range = trial % 4 == 0 ? bytes.size() : header;
    const size_t pos = rng() % range;
    const int bit = static_cast<int>(rng() % 8);
    flipped[pos] = static_cast<uint8_t>(flipped[pos] ^ (1u << bit));
    expect_parse_or_input_error(std::move(flipped), "flip at " + std::to_string(pos) + " bit " + std::to_string(bit));
  }
}

TEST(GgufBadInput, RandomByteOverwritesParseOrThrowInputError) {
  const auto bytes = TinyModel{}.bytes();
  const size_t header = parse(bytes).data_offset();
  const uint8_t interesting[] = {0x00, 0xFF, 0x7F, 0x80, 0x01, 0x20, 0x09, 0x0C};
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 3000; ++trial) {
    auto spoiled = bytes;
    const int n_writes = 1 + static_cast<int>(rng() % 4);
    std::string what = "overwrite";
    for (int k = 0; k < n_writes; ++k) {
      const size_t pos = rng() % (trial % 4 == 0 ? bytes.size() : header);
      spoiled[pos] = rng() % 2 ? interesting[rng() % std::size(interesting)] : static_cast<uint8_t>(rng());
      what += ' ';
      what += std::to_string(pos);
    }
    expect_parse_or_input_error(std::move(spoiled), what);
  }
}

// ------------------------------------------------------------------------------------------------
// Hand-crafted adversarial files: header and metadata

TEST(GgufBadInput, WrongMagicEmptyFileAndOtherFormats) {
  EXPECT_THAT(parse_rejection({}), AllOf(HasSubstr("bad.gguf"), HasSubstr("too small")));
  RawGguf ggml;
  ggml.u32(0x67676d6c).u32(1).u64(0).u64(0);
  EXPECT_THAT(parse_rejection(ggml.bytes), AllOf(HasSubstr("bad.gguf"), HasSubstr("not a GGUF file")));
  std::vector<uint8_t> zip = {'P', 'K', 3, 4};
  zip.resize(64, 0);
  EXPECT_THAT(parse_rejection(zip), HasSubstr("bad magic 50 4b 03 04"));
}

TEST(GgufBadInput, UnsupportedVersionsAndBigEndian) {
  EXPECT_THAT(parse_rejection(RawGguf().header(0, 0, 1).bytes), HasSubstr("version 1 is not supported"));
  EXPECT_THAT(parse_rejection(RawGguf().header(0, 0, 4).bytes), HasSubstr("unsupported GGUF version 4"));
  EXPECT_THAT(parse_rejection(RawGguf().header(0, 0, 0x03000000).bytes), HasSubstr("big-endian"));
  EXPECT_NO_THROW(parse(RawGguf().header(0, 0, 2).bytes));
}

TEST(GgufBadInput, HugeCountsAreBoundedByTheFileSize) {
  EXPECT_THAT(parse_rejection(RawGguf().header(uint64_t{1} << 60, 0).bytes),
              AllOf(HasSubstr("tensor count"), HasSubstr("exceeds file size")));
  EXPECT_THAT(parse_rejection(RawGguf().header(0, ~uint64_t{0}).bytes),
              AllOf(HasSubstr("metadata count"), HasSubstr("exceeds file size")));
}

TEST(GgufBadInput, HugeAndTruncatedStrings) {
  RawGguf huge_key;
  huge_key.header(0, 1).u64(uint64_t{1} << 62).zeros(16);
  EXPECT_THAT(parse_rejection(huge_key.bytes), HasSubstr("implausible length"));
  RawGguf long_value;
  long_value.header(0, 1).str("k").u32(kTypeString).u64(1000).zeros(16);
  EXPECT_THAT(parse_rejection(long_value.bytes), AllOf(HasSubstr("truncated"), HasSubstr("string value")));
  RawGguf empty_key;
  empty_key.header(0, 1).str("").u32(kTypeU32).u32(1);
  EXPECT_THAT(parse_rejection(empty_key.bytes), HasSubstr("empty metadata key"));
}

TEST(GgufBadInput, ArrayLengthsThatOverflow) {
  for (uint32_t elem : {0u, 4u, 10u, kTypeString}) {  // u8, u32, u64, string
    for (uint64_t count : {uint64_t{1} << 62, ~uint64_t{0}, uint64_t{1} << 61}) {
      RawGguf g;
      g.header(0, 1).str("arr").u32(kTypeArray).u32(elem).u64(count).zeros(64);
      EXPECT_THAT(parse_rejection(g.bytes), AllOf(HasSubstr("'arr'"), HasSubstr("exceeds file size")))
          << elem << " " << count;
    }
  }
}

TEST(GgufBadInput, UnknownValueTypesAndNestedArrays) {
  for (uint32_t type : {13u, 99u, 0xFFFFFFFFu}) {
    RawGguf scalar;
    scalar.header(0, 1).str("k").u32(type).u64(0);
    EXPECT_THAT(parse_rejection(scalar.bytes), HasSubstr("unknown metadata value type " + std::to_string(type)));
    RawGguf element;
    element.header(0, 1).str("k").u32(kTypeArray).u32(type).u64(0);
    EXPECT_THAT(parse_rejection(element.bytes), HasSubstr("unknown metadata value type"));
  }
  RawGguf nested;
  nested.header(0, 1).str("k").u32(kTypeArray).u32(kTypeArray).u64(1).u32(kTypeU32).u64(0);
  EXPECT_THAT(parse_rejection(nested.bytes), HasSubstr("nested arrays"));
}

TEST(GgufBadInput, BadBoolsAndDuplicateKeys) {
  RawGguf bad_bool;
  bad_bool.header(0, 1).str("flag").u32(7).u8(2).zeros(8);
  EXPECT_THAT(parse_rejection(bad_bool.bytes), HasSubstr("neither 0 nor 1"));
  RawGguf bad_bools;
  bad_bools.header(0, 1).str("flags").u32(kTypeArray).u32(7).u64(3).u8(1).u8(0).u8(9).zeros(8);
  EXPECT_THAT(parse_rejection(bad_bools.bytes), HasSubstr("bool element"));
  RawGguf dup;
  dup.header(0, 2).kv_u32("general.x", 1).kv_u32("general.x", 2);
  EXPECT_THAT(parse_rejection(dup.bytes), HasSubstr("duplicate metadata key 'general.x'"));
}

TEST(GgufBadInput, BadAlignment) {
  for (uint32_t alignment : {0u, 3u, 48u, 1u << 21}) {
    RawGguf g;
    g.header(0, 1).kv_u32("general.alignment", alignment);
    EXPECT_THAT(parse_rejection(g.bytes), HasSubstr("general.alignment")) << alignment;
  }
  RawGguf as_string;
  as_string.header(0, 1).kv_string("general.alignment", "32");
  EXPECT_THAT(parse_rejection(as_string.bytes), HasSubstr("general.alignment"));
  RawGguf big;  // a valid large alignment: the data section starts 64 KiB in
  big.header(1, 1).kv_u32("general.alignment", 1u << 16).tensor("t", {32}, kF32, 0).align(1u << 16).zeros(128);
  EXPECT_NO_THROW(parse(big.bytes));
}

TEST(GgufBadInput, AccessorsRejectWrongTypes) {
  RawGguf g;
  g.header(0, 4).kv_string("s", "text").str("neg").u32(5).u32(static_cast<uint32_t>(-3));
  g.str("big").u32(kTypeArray).u32(10).u64(1).u64(uint64_t{1} << 40);
  g.str("nums").u32(kTypeArray).u32(kTypeU32).u64(2).u32(1).u32(2);
  const GgufFile f = parse(g.bytes, "meta.gguf");
  EXPECT_THAT(rejection([&] { (void)f.get_uint("s"); }), AllOf(HasSubstr("meta.gguf"), HasSubstr("'s'")));
  EXPECT_THAT(rejection([&] { (void)f.get_uint("neg"); }), HasSubstr("negative"));
  EXPECT_THAT(rejection([&] { (void)f.get_bool("s"); }), HasSubstr("should be a bool"));
  EXPECT_THAT(rejection([&] { (void)f.get_float("s"); }), HasSubstr("should be a number"));
  EXPECT_THAT(rejection([&] { (void)f.get_string("nums"); }), HasSubstr("should be a string"));
  EXPECT_THAT(rejection([&] { (void)f.get_i32_array("big"); }), HasSubstr("does not fit in 32 bits"));
  EXPECT_THAT(rejection([&] { (void)f.get_string_array("nums"); }), HasSubstr("array of strings"));
  EXPECT_THAT(rejection([&] { (void)f.get_f32_array("s"); }), HasSubstr("array of numbers"));
  EXPECT_THAT(rejection([&] { (void)f.get_string("absent"); }), HasSubstr("missing metadata 'absent'"));
}

// ------------------------------------------------------------------------------------------------
// Hand-crafted adversarial files: tensor infos and data

TEST(GgufBadInput, DimensionCounts) {
  for (uint32_t n_dims : {0u, 5u, 1000u}) {
    RawGguf g;
    g.header(1, 0).str("t").u32(n_dims).zeros(64);
    EXPECT_THAT(parse_rejection(g.bytes), AllOf(HasSubstr("'t'"), HasSubstr(std::to_string(n_dims) + " dimensions")));
  }
}

TEST(GgufBadInput, ZeroHugeAndOverflowingDimensions) {
  EXPECT_THAT(parse_rejection(with_tensors([](RawGguf& g) { g.tensor("t", {32, 0}, kF32, 0); }, 1)),
              HasSubstr("invalid dimension 0"));
  EXPECT_THAT(parse_rejection(with_tensors([](RawGguf& g) { g.tensor("t", {uint64_t{1} << 41}, kF32, 0); }, 1)),
              HasSubstr("invalid dimension"));
  const uint64_t big = uint64_t{1} << 40;
  EXPECT_THAT(parse_rejection(with_tensors([&](RawGguf& g) { g.tensor("t", {big, big, big}, kF32, 0); }, 1)),
              HasSubstr("too many elements"));
  // Fits in int64 elements, but not in the file.
  EXPECT_THAT(parse_rejection(with_tensors([&](RawGguf& g) { g.tensor("t", {big, 1u << 20}, kF32, 0); }, 1)),
              AllOf(HasSubstr("'t'"), HasSubstr("past the end of the file")));
}

TEST(GgufBadInput, UnknownTensorTypes) {
  for (uint32_t type : {4u, 5u, 16u, 29u, 31u, 0xFFFFFFFFu}) {
    EXPECT_THAT(parse_rejection(with_tensors([&](RawGguf& g) { g.tensor("w", {32}, type, 0); }, 1)),
                HasSubstr("'w' has unknown type id " + std::to_string(type)));
  }
}

TEST(GgufBadInput, RowLengthNotAMultipleOfTheBlockSize) {
  EXPECT_THAT(parse_rejection(with_tensors([](RawGguf& g) { g.tensor("q", {33, 2}, kQ8_0, 0); }, 1)),
              AllOf(HasSubstr("'q'"), HasSubstr("row length 33"), HasSubstr("block size 32")));
}

TEST(GgufBadInput, MisalignedOverlappingAndOutOfFileOffsets) {
  EXPECT_THAT(parse_rejection(with_tensors([](RawGguf& g) { g.tensor("t", {8}, kF32, 4); }, 1)),
              HasSubstr("not aligned to 32"));
  EXPECT_THAT(parse_rejection(with_tensors([](RawGguf& g) {
                g.tensor("a", {32}, kF32, 0).tensor("b", {32}, kF32, 64);
              }, 2)),
              HasSubstr("'a' and 'b' overlap"));
  EXPECT_THAT(parse_rejection(with_tensors([](RawGguf& g) { g.tensor("t", {32}, kF32, 1024); }, 1)),
              AllOf(HasSubstr("'t'"), HasSubstr("past the end of the file")));
  EXPECT_THAT(parse_rejection(with_tensors([](RawGguf& g) { g.tensor("t", {32}, kF32, ~uint64_t{31}); }, 1)),
              HasSubstr("past the end of the file"));
  // The data section itself starts after the end of the file.
  RawGguf g;
  g.header(1, 0).tensor("t", {8}, kF32, 0);
  EXPECT_THAT(parse_rejection(g.bytes), HasSubstr("past the end of the file"));
}

TEST(GgufBadInput, DuplicateAndEmptyTensorNames) {
  EXPECT_THAT(parse_rejection(with_tensors([](RawGguf& g) {
                g.tensor("w", {8}, kF32, 0).tensor("w", {8}, kF32, 32);
              }, 2)),
              HasSubstr("duplicate tensor name 'w'"));
  EXPECT_THAT(parse_rejection(with_tensors([](RawGguf& g) { g.tensor("", {8}, kF32, 0); }, 1)),
              HasSubstr("empty tensor name"));
}

// What the reader accepts (alignments up to 1 MiB) the writer must produce: padding beyond its
// 4 KiB zero block used to be copied from whatever memory followed it.
TEST(GgufBadInput, WriterPadsLargeAlignmentsWithZeros) {
  GgufWriter w;
  w.set_alignment(1u << 16);
  const std::vector<uint8_t> data(128, 0xAB);
  w.add_tensor_bytes("a", TensorType::F32, {32}, data);
  w.add_tensor_bytes("b", TensorType::F32, {32}, data);
  const auto bytes = w.to_bytes();
  const GgufFile f = parse(bytes);
  const GgufTensor* b = f.find_tensor("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->offset, 1u << 16);
  const size_t pad_begin = f.data_offset() + 128, pad_end = f.data_offset() + b->offset;
  for (size_t i = pad_begin; i < pad_end; ++i) ASSERT_EQ(bytes[i], 0) << i;
}

TEST(Llama2cBadInput, HeaderWithTheMostNegativeVocabSize) {
  testing::TempDir dir;
  std::string header(28, '\0');
  const int32_t fields[7] = {8, 16, 1, 2, 1, std::numeric_limits<int32_t>::min(), 8};
  std::memcpy(header.data(), fields, sizeof(fields));
  testing::write_file(dir / "model.bin", header);
  EXPECT_THAT(rejection([&] { (void)read_llama2c_header((dir / "model.bin").string()); }),
              AllOf(HasSubstr("model.bin"), HasSubstr("not a llama2.c checkpoint")));
}

// ------------------------------------------------------------------------------------------------
// Model-level errors: well-formed GGUF that is not a usable model

TEST(ModelBadInput, UnknownArchitectureNamesItAndTheSupportedOnes) {
  TinyModel m;
  m.arch = "gemma";
  EXPECT_THAT(model_rejection(m), AllOf(HasSubstr("tiny.gguf"), HasSubstr("'gemma'"), HasSubstr("llama"),
                                        HasSubstr("qwen2")));
  TinyModel none;
  none.omit = {"general.architecture"};
  EXPECT_THAT(model_rejection(none), HasSubstr("missing metadata 'general.architecture'"));
}

TEST(ModelBadInput, MissingTensor) {
  for (const char* name : {"token_embd.weight", "output_norm.weight", "blk.0.ffn_up.weight", "blk.0.attn_norm.weight"}) {
    TinyModel m;
    m.omit = {name};
    EXPECT_THAT(model_rejection(m), AllOf(HasSubstr("tiny.gguf"), HasSubstr(std::string("missing tensor '") + name)));
  }
}

TEST(ModelBadInput, WrongTensorShape) {
  TinyModel m;
  m.shapes["blk.0.attn_q.weight"] = {8, 4};
  EXPECT_THAT(model_rejection(m), AllOf(HasSubstr("'blk.0.attn_q.weight'"), HasSubstr("[8, 4]"), HasSubstr("[8, 8]")));
  TinyModel norm;
  norm.shapes["blk.0.ffn_norm.weight"] = {8, 1};
  EXPECT_THAT(model_rejection(norm), HasSubstr("'blk.0.ffn_norm.weight' has shape [8, 1]"));
}

TEST(ModelBadInput, HeadCountsThatDoNotDivide) {
  TinyModel kv;
  kv.kv_heads = 3;
  kv.edit = [](GgufWriter& w) { w.set_u32("llama.attention.head_count_kv", 3); };
  EXPECT_THAT(model_rejection(kv), HasSubstr("head_count 2 is not a multiple of head_count_kv 3"));
  TinyModel heads;
  heads.edit = [](GgufWriter& w) {
    w.set_u32("llama.attention.head_count", 3);
    w.set_u32("llama.attention.head_count_kv", 3);
  };
  EXPECT_THAT(model_rejection(heads), HasSubstr("embedding_length 8 is not a multiple of head_count 3"));
  TinyModel zero;
  zero.edit = [](GgufWriter& w) { w.set_u32("llama.attention.head_count", 0); };
  EXPECT_THAT(model_rejection(zero), HasSubstr("'llama.attention.head_count' = 0 is out of range"));
}

TEST(ModelBadInput, HugeHeadSizesDoNotOverflow) {
  TinyModel m;
  m.edit = [](GgufWriter& w) {
    w.set_u32("llama.attention.head_count", 1u << 24);
    w.set_u32("llama.attention.head_count_kv", 1u << 24);
    w.set_u32("llama.attention.key_length", 1u << 24);
  };
  EXPECT_THAT(model_rejection(m), AllOf(HasSubstr("tiny.gguf"), HasSubstr("too large")));
}

TEST(ModelBadInput, HugeBlockCountFailsFastOnTheMissingLayer) {
  TinyModel m;
  m.edit = [](GgufWriter& w) { w.set_u32("llama.block_count", 1u << 24); };
  EXPECT_THAT(model_rejection(m), HasSubstr("missing tensor 'blk.1.attn_norm.weight'"));
}

TEST(ModelBadInput, VocabularySizeMismatch) {
  TinyModel m;
  m.vocab_rows = 5;
  EXPECT_THAT(model_rejection(m), AllOf(HasSubstr("tiny.gguf"), HasSubstr("tokenizer has 6 tokens"),
                                        HasSubstr("token_embd.weight has 5 rows")));
}

TEST(ModelBadInput, NonFiniteNormWeights) {
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    TinyModel m;
    m.attn_norm_fill = bad;
    EXPECT_THAT(model_rejection(m), AllOf(HasSubstr("'blk.0.attn_norm.weight'"), HasSubstr("non-finite")));
  }
}

TEST(ModelBadInput, TokenizerMetadataErrors) {
  TinyModel no_tokenizer;
  no_tokenizer.omit = {"tokenizer.ggml.model"};
  EXPECT_THAT(model_rejection(no_tokenizer), HasSubstr("no tokenizer"));

  TinyModel no_tokens;
  no_tokens.omit = {"tokenizer.ggml.tokens"};
  EXPECT_THAT(model_rejection(no_tokens), HasSubstr("missing metadata 'tokenizer.ggml.tokens'"));

  TinyModel unknown_model;
  unknown_model.edit = [](GgufWriter& w) { w.set_string("tokenizer.ggml.model", "bert"); };
  EXPECT_THAT(model_rejection(unknown_model), AllOf(HasSubstr("'bert'"), HasSubstr("llama, gpt2")));

  TinyModel scores;
  scores.edit = [](GgufWriter& w) { w.set_f32_array("tokenizer.ggml.scores", {0, 1, 2}); };
  EXPECT_THAT(model_rejection(scores), HasSubstr("tokenizer.ggml.scores has 3 entries, tokens has 6"));

  for (int32_t type : {7, -1}) {
    TinyModel types;
    types.edit = [type](GgufWriter& w) { w.set_i32_array("tokenizer.ggml.token_type", {2, 3, 3, 1, 1, type}); };
    EXPECT_THAT(model_rejection(types), HasSubstr("token_type[5] = " + std::to_string(type)));
  }

  TinyModel bos;
  bos.edit = [](GgufWriter& w) { w.set_u32("tokenizer.ggml.bos_token_id", 6); };
  EXPECT_THAT(model_rejection(bos), AllOf(HasSubstr("bos_token_id"), HasSubstr("outside the vocabulary")));

  TinyModel eos;
  eos.edit = [](GgufWriter& w) { w.set_string("tokenizer.ggml.eos_token_id", "2"); };
  EXPECT_THAT(model_rejection(eos), HasSubstr("eos_token_id"));
}

TEST(ModelBadInput, TokenizerConstructionErrorsNameTheFile) {
  TinyModel bpe;
  bpe.edit = [](GgufWriter& w) {
    w.set_string("tokenizer.ggml.model", "gpt2");
    w.set_string_array("tokenizer.ggml.merges", {"a b", "nospace"});
  };
  EXPECT_THAT(model_rejection(bpe), AllOf(HasSubstr("tiny.gguf"), HasSubstr("merge")));
  TinyModel pre;
  pre.edit = [](GgufWriter& w) {
    w.set_string("tokenizer.ggml.model", "gpt2");
    w.set_string_array("tokenizer.ggml.merges", {});
    w.set_string("tokenizer.ggml.pre", "no-such-pre-tokenizer");
  };
  EXPECT_THAT(model_rejection(pre), AllOf(HasSubstr("tiny.gguf"), HasSubstr("no-such-pre-tokenizer")));
}

}  // namespace
}  // namespace aded
