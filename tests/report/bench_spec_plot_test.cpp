// `aded bench-spec --plot`: a short run on a tiny random model draws the chart (PNG or SVG, with
// a group per prompt category and "overall"), and a file name of another kind is refused before
// the benchmark runs.
#include <gtest/gtest.h>

#include <filesystem>

#include "aded/model_tools.h"
#include "report/png_reader.h"
#include "support/test_support.h"

namespace aded {
namespace {

namespace fs = std::filesystem;

std::string quoted(const fs::path& p) {
  std::string s = p.string();
  s.insert(s.begin(), '\'');
  s += '\'';
  return s;
}

class BenchSpecPlot : public ::testing::Test {
 protected:
  void SetUp() override {
    RandomModelOptions o;
    o.shape = *named_model_shape("tiny");
    write_random_model(o, (dir_ / "tiny.gguf").string());
    testing::write_file(
        dir_ / "prompts.jsonl",
        "{\"question_id\": 1, \"category\": \"coding\", \"turns\": [\"def add(a, b): return a + "
        "b\"]}\n"
        "{\"question_id\": 2, \"category\": \"writing\", \"turns\": [\"Once upon a time\"]}\n");
  }
  testing::CommandResult bench(const std::string& plot) {
    return testing::run_cli("bench-spec -m " + quoted(dir_ / "tiny.gguf") + " --prompts " +
                            quoted(dir_ / "prompts.jsonl") +
                            " -n 8 -t 1 --methods none,pld --plot " + quoted(dir_ / plot));
  }
  testing::TempDir dir_;
};

TEST_F(BenchSpecPlot, DrawsPng) {
  const testing::CommandResult r = bench("chart.png");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const testing::PngImage img = testing::decode_png(testing::read_file(dir_ / "chart.png"));
  EXPECT_GT(img.width, 600u);
  EXPECT_GE(img.distinct_colors(), 8u);
}

TEST_F(BenchSpecPlot, DrawsSvgWithCategoriesAndOverall) {
  const testing::CommandResult r = bench("chart.svg");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string svg = testing::read_file(dir_ / "chart.svg");
  for (const char* text : {"Speedup over plain decoding", "Tokens per target forward", "coding",
                           "writing", "overall", "pld", "tiny.gguf", "prompts.jsonl"})
    EXPECT_NE(svg.find(text), std::string::npos) << "missing: " << text;
}

TEST_F(BenchSpecPlot, OtherExtensionsAreRefusedUpFront) {
  const testing::CommandResult r = bench("chart.pdf");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--plot"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(".svg, .png"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "") << "the benchmark must not run";
  EXPECT_FALSE(fs::exists(dir_ / "chart.pdf"));
}

}  // namespace
}  // namespace aded
