// aded repack: a model whose matrices its file stores in the kernels' packed layout computes the
// same bits as the file it came from, with the SIMD kernels (mapped, no copy) and the scalar ones
// (rows unpacked), greedy head included; what reads rows (quantize, the finite check) reads the
// packed layout correctly; and what cannot be repacked is refused by name, nothing left behind.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>

#include "aded/context.h"
#include "aded/error.h"
#include "aded/gguf.h"
#include "aded/half.h"
#include "aded/mapped_file.h"
#include "aded/model.h"
#include "aded/model_tools.h"
#include "core/kernels/packing.h"
#include "gguf/tiny_model.h"
#include "support/test_support.h"

namespace aded {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

std::string write_model(const testing::TempDir& dir, const std::string& name, const ModelConfig& shape, TensorType type) {
  RandomModelOptions o;
  o.shape = shape;
  o.type = type;
  const std::string path = (dir / name).string();
  write_random_model(o, path);
  return path;
}

std::vector<int32_t> some_tokens(int n, int vocab) {
  std::mt19937 rng(3);
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (auto& v : t) v = static_cast<int32_t>(rng() % static_cast<uint32_t>(vocab));
  return t;
}

// Every logit of a causal batch, with the scalar kernels or the best the CPU has.
std::vector<float> all_logits(std::shared_ptr<const Model> model, const std::vector<int32_t>& tokens, bool scalar) {
  Context c(model, {.n_ctx = 64, .n_threads = 2, .scalar_kernels = scalar});
  c.forward(Batch::sequence(tokens, 0, true));
  std::vector<float> out;
  for (int i = 0; i < static_cast<int>(tokens.size()); ++i) {
    const auto row = c.logits(i);
    out.insert(out.end(), row.begin(), row.end());
  }
  return out;
}

// The argmax of every position by the greedy head (int8 candidates, exact rows).
std::vector<int32_t> greedy_tokens(std::shared_ptr<const Model> model, const std::vector<int32_t>& tokens, bool scalar) {
  Context c(model, {.n_ctx = 64, .n_threads = 2, .scalar_kernels = scalar});
  Batch b = Batch::sequence(tokens, 0, true);
  b.greedy_only = true;
  c.forward(b);
  std::vector<int32_t> out;
  for (int i = 0; i < static_cast<int>(tokens.size()); ++i) out.push_back(c.greedy_argmax(i));
  return out;
}

// Same tensors (names, types, shapes, layout and bytes); metadata order and alignment may differ.
bool same_tensors(const std::string& a_path, const std::string& b_path) {
  const GgufFile a = GgufFile::open(a_path), b = GgufFile::open(b_path);
  if (a.tensors().size() != b.tensors().size()) return false;
  for (const GgufTensor& t : a.tensors()) {
    const GgufTensor* u = b.find_tensor(t.name);
    if (!u || u->type != t.type || u->packed != t.packed || u->dims != t.dims || u->nbytes != t.nbytes ||
        std::memcmp(u->data, t.data, t.nbytes) != 0)
      return false;
  }
  return true;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(RepackedModel, SameBitsAsTheOriginalWithEveryKernelTable) {
  testing::TempDir dir;
  const std::vector<std::pair<std::string, ModelConfig>> shapes = {
      {"tiny", named_model_shape("tiny").value()},
      {"tiny-phi3", named_model_shape("tiny-phi3").value()},  // fused qkv and gate/up, split by rows
  };
  for (const auto& [shape_name, shape] : shapes) {
    for (const TensorType type : {TensorType::F32, TensorType::F16, TensorType::BF16, TensorType::Q8_0,
                                  TensorType::Q5_0, TensorType::Q4_0}) {
      SCOPED_TRACE(shape_name + " " + std::string(tensor_type_name(type)));
      const std::string in = write_model(dir, "in.gguf", shape, type), out = (dir / "packed.gguf").string();
      const RepackReport report = repack_model(in, out);
      EXPECT_TRUE(report.already.empty());
      EXPECT_TRUE(report.kept.empty());
      EXPECT_FALSE(report.packed.empty());
      const auto original = Model::load(in), packed = Model::load(out);
      EXPECT_FALSE(original->file_is_packed());
      ASSERT_TRUE(packed->file_is_packed());
      const auto tokens = some_tokens(20, original->config().n_vocab);
      const auto expected = all_logits(original, tokens, false);
      EXPECT_TRUE(same_bits(all_logits(packed, tokens, false), expected));
      EXPECT_TRUE(same_bits(all_logits(packed, tokens, true), all_logits(original, tokens, true)));
      // The scalar and SIMD kernels agree on the original; so they must on the repacked file.
      EXPECT_TRUE(same_bits(all_logits(packed, tokens, true), expected));
      EXPECT_EQ(greedy_tokens(packed, tokens, false), greedy_tokens(original, tokens, false));
      // Mapped, not copied: the packed matrices cost no memory of their own. (A tied output is the
      // embedding table, which stays in rows for the lookup: it is packed at load as before.)
      const Matrix& o = original->output();
      const size_t tied = original->config().tied_output ? kernels::packed_matrix_bytes(o.type, o.rows, o.cols) : 0;
      EXPECT_EQ(packed->packed_bytes(), tied);
      EXPECT_GT(original->packed_bytes(), tied);
    }
  }
}

TEST(RepackedModel, RepackingARepackedFileKeepsItAndQuantizingItReadsItsRows) {
  testing::TempDir dir;
  const std::string in = write_model(dir, "in.gguf", named_model_shape("tiny").value(), TensorType::F16);
  const std::string packed = (dir / "p.gguf").string(), again = (dir / "pp.gguf").string();
  const RepackReport first = repack_model(in, packed);
  const RepackReport second = repack_model(packed, again);
  EXPECT_TRUE(second.packed.empty());
  EXPECT_EQ(second.already, first.packed);
  EXPECT_TRUE(same_tensors(packed, again));
  EXPECT_THAT(first.summary(), HasSubstr(fmt::format("packed {} of {} weight matrices", first.packed.size(), first.packed.size())));

  // Quantizing the repacked file gives the bytes quantizing the original gives (rows read back).
  for (const TensorType type : {TensorType::Q8_0, TensorType::F16}) {
    QuantizeOptions q;
    q.type = type;
    const std::string a = (dir / "a.gguf").string(), b = (dir / "b.gguf").string();
    quantize_model(in, a, q);
    quantize_model(packed, b, q);
    EXPECT_TRUE(same_tensors(a, b)) << tensor_type_name(type);
    EXPECT_FALSE(Model::load(b)->file_is_packed());
  }
}

TEST(RepackedModel, RefusalsNameTheProblemAndLeaveNothing) {
  testing::TempDir dir;
  // k-quants have no packed layout: nothing to gain, nothing written.
  const ModelConfig wide = ModelConfig::new_model(Architecture::Llama, 256, 1, 4, 4, 512, 300, 64, false);
  const std::string kq = write_model(dir, "kq.gguf", wide, TensorType::Q4_K);
  const std::string out = (dir / "out.gguf").string();
  EXPECT_THAT(testing::rejection([&] { repack_model(kq, out); }),
              AllOf(HasSubstr("kq.gguf"), HasSubstr("has a packed layout"), HasSubstr("Q4_0")));
  EXPECT_FALSE(std::filesystem::exists(out));
  // The input is never the output.
  EXPECT_THAT(testing::rejection([&] { repack_model(kq, kq); }), HasSubstr("different file"));
}

// A damaged weight in a repacked file is found where the file maps it, named by its row and
// column in the matrix (not its place in the packed layout).
TEST(RepackedModel, NonFiniteWeightsAreFoundInThePackedLayout) {
  testing::TempDir dir;
  const std::string in = write_model(dir, "in.gguf", named_model_shape("tiny").value(), TensorType::F16);
  const std::string damaged = (dir / "damaged.gguf").string(), packed = (dir / "p.gguf").string();
  std::string bytes = testing::read_file(in);
  {
    const GgufFile f = GgufFile::open(in);
    const GgufTensor* t = f.find_tensor("blk.0.ffn_up.weight");
    ASSERT_NE(t, nullptr);
    const int64_t row = 19, col = 5;
    const size_t at = static_cast<size_t>(t->data - f.file()->bytes().data()) +
                      static_cast<size_t>(row) * (t->nbytes / static_cast<size_t>(t->rows())) + static_cast<size_t>(col) * 2;
    const uint16_t nan = float_to_half(std::numeric_limits<float>::quiet_NaN());
    std::memcpy(bytes.data() + at, &nan, 2);
  }
  testing::write_file(damaged, bytes);
  repack_model(damaged, packed);  // loading alone does not read the weights
  for (const bool scalar : {false, true}) {
    const auto model = Model::load(packed);
    EXPECT_THAT(testing::rejection([&] { Context c(model, {.n_ctx = 16, .n_threads = 2, .scalar_kernels = scalar}); }),
                AllOf(HasSubstr("p.gguf"), HasSubstr("blk.0.ffn_up.weight"), HasSubstr("row 19, column 5")))
        << (scalar ? "scalar" : "SIMD");
  }
}

// Packed type ids are only valid for the types that have a packed layout, on matrices.
TEST(RepackedModel, TheReaderRefusesPackedIdsOfTypesWithoutALayout) {
  GgufWriter w;
  w.set_alignment(64);
  w.add_packed_tensor("m.weight", TensorType::F16, {32, 16}, [](std::span<uint8_t> out) { std::fill(out.begin(), out.end(), 0); });
  std::vector<uint8_t> bytes = w.to_bytes();
  {
    const GgufFile ok = GgufFile::parse(MappedFile::from_bytes(bytes, "ok.gguf"));
    ASSERT_EQ(ok.tensors().size(), 1u);
    EXPECT_TRUE(ok.tensors()[0].packed);
    EXPECT_EQ(ok.tensors()[0].type, TensorType::F16);
    EXPECT_EQ(ok.tensors()[0].nbytes, 32u * 16u * 2u);
  }
  // The same file with the id of a packed Q4_K, which has no packed layout.
  const uint32_t f16_id = kPackedTypeBase + static_cast<uint32_t>(TensorType::F16);
  const uint32_t q4k_id = kPackedTypeBase + static_cast<uint32_t>(TensorType::Q4_K);
  size_t found = 0;
  for (size_t i = 0; i + 4 <= bytes.size(); ++i) {
    uint32_t v;
    std::memcpy(&v, bytes.data() + i, 4);
    if (v != f16_id) continue;
    std::memcpy(bytes.data() + i, &q4k_id, 4);
    ++found;
  }
  ASSERT_EQ(found, 1u);
  EXPECT_THAT(testing::rejection([&] { GgufFile::parse(MappedFile::from_bytes(bytes, "bad.gguf")); }),
              AllOf(HasSubstr("m.weight"), HasSubstr("no packed layout")));
}

}  // namespace
}  // namespace aded
