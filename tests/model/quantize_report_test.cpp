// aded quantize says what it converted: matrices whose rows are not a multiple of the type's
// block keep their type and are listed; when no matrix can take the type (Q4_K on a model of
// 288-wide rows), nothing is written and the error says why.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "aded/error.h"
#include "aded/gguf.h"
#include "aded/model.h"
#include "aded/model_tools.h"
#include "support/test_support.h"

namespace aded {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

std::string write_model(const aded::testing::TempDir& dir, const std::string& name, int dim, int hidden,
                        TensorType type = TensorType::F16) {
  RandomModelOptions o;
  o.shape = ModelConfig::new_model(Architecture::Llama, dim, 1, 4, 4, hidden, 300, 64, false);
  o.type = type;
  const std::string path = (dir / name).string();
  write_random_model(o, path);
  return path;
}

TEST(QuantizeReport, NothingQuantizableIsRefusedAndNothingWritten) {
  aded::testing::TempDir dir;
  const std::string in = write_model(dir, "narrow.gguf", 64, 160);  // no 256-wide rows
  const std::string out = (dir / "out.gguf").string();
  QuantizeOptions o;
  o.type = TensorType::Q4_K;
  try {
    quantize_model(in, out, o);
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_THAT(std::string(e.what()), AllOf(HasSubstr("narrow.gguf"), HasSubstr("Q4_K"),
                                             HasSubstr("rows of 64"), HasSubstr("Q8_0")));
  }
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST(QuantizeReport, MatricesThatKeepTheirTypeAreListed) {
  aded::testing::TempDir dir;
  const std::string in = write_model(dir, "mixed.gguf", 256, 288);  // ffn_down's rows are 288 wide
  const std::string out = (dir / "q4k.gguf").string();
  QuantizeOptions o;
  o.type = TensorType::Q4_K;
  const QuantizeReport r = quantize_model(in, out, o);
  ASSERT_EQ(r.kept.size(), 1u);
  EXPECT_EQ(r.kept[0].name, "blk.0.ffn_down.weight");
  EXPECT_EQ(r.kept[0].type, TensorType::F16);
  EXPECT_EQ(r.kept[0].row_length, 288);
  EXPECT_EQ(r.converted.size(), 8u);  // embedding, output, q, k, v, o, gate, up
  EXPECT_THAT(r.summary(o.type), AllOf(HasSubstr("quantized 8 of 9 weight matrices to Q4_K"),
                                       HasSubstr("1 kept their type (rows not a multiple of 256)"),
                                       HasSubstr("blk.0.ffn_down.weight (F16, rows of 288)")));
  const auto model = Model::load(out);
  EXPECT_EQ(model->layers()[0].w_down.type, TensorType::F16);
  EXPECT_EQ(model->layers()[0].w_up.type, TensorType::Q4_K);

  // Again to the same type: nothing to convert, nothing refused.
  const QuantizeReport again = quantize_model(out, (dir / "again.gguf").string(), o);
  EXPECT_TRUE(again.converted.empty());
  EXPECT_EQ(again.unchanged.size(), 8u);
  EXPECT_THAT(again.summary(o.type), HasSubstr("8 already were"));
}

TEST(QuantizeReport, TheCommandPrintsTheReport) {
  aded::testing::TempDir dir;
  const std::string mixed = write_model(dir, "mixed.gguf", 256, 288);
  const auto ok = aded::testing::run_cli("quantize '" + mixed + "' '" + (dir / "q.gguf").string() + "' Q4_K");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_THAT(ok.err, HasSubstr("kept their type"));
  const std::string narrow = write_model(dir, "narrow.gguf", 64, 160);
  const auto refused = aded::testing::run_cli("quantize '" + narrow + "' '" + (dir / "n.gguf").string() + "' Q4_K");
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("no weight matrix can be quantized to Q4_K"));
  EXPECT_FALSE(std::filesystem::exists(dir / "n.gguf"));
}

}  // namespace
}  // namespace aded
