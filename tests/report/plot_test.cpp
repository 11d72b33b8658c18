// render_chart draws real pictures with gnuplot (installed by scripts/install_deps.sh; these tests
// fail, not skip, without it): PNGs of the asked size holding the series' colors, SVGs holding
// every text, and on every error a message that names the cause and no file left behind.
#include "aded/plot.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <optional>

#include "aded/error.h"
#include "report/chart_samples.h"
#include "report/png_reader.h"
#include "support/test_support.h"

namespace aded {
namespace {

namespace fs = std::filesystem;
using testing::bench_like_chart;
using testing::line_chart;

// Draws or fails the test with gnuplot's own words (e.g. when it is not installed).
void draw(const Chart& chart, const fs::path& path, const PlotOptions& options = {}) {
  try {
    render_chart(chart, path.string(), options);
  } catch (const Error& e) {
    FAIL() << "render_chart(" << path << ") failed: " << e.what();
  }
}

std::string error_of(const Chart& chart, const fs::path& path, const PlotOptions& options = {}) {
  try {
    render_chart(chart, path.string(), options);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

bool has_pixel(const testing::PngImage& img, uint8_t r, uint8_t g, uint8_t b) {
  const size_t n = static_cast<size_t>(img.channels);
  for (size_t i = 0; i + n <= img.pixels.size(); i += n)
    if (img.pixels[i] == r && img.pixels[i + 1] == g && img.pixels[i + 2] == b) return true;
  return false;
}

size_t files_in(const fs::path& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

class RenderChart : public ::testing::Test {
 protected:
  testing::TempDir dir_;
};

TEST_F(RenderChart, BarsAsPngOfTheAskedSizeWithTheSeriesColors) {
  Chart chart = bench_like_chart();
  chart.width = 1100;
  chart.height = 460;
  draw(chart, dir_ / "bench.png");
  const testing::PngImage img = testing::decode_png(testing::read_file(dir_ / "bench.png"));
  EXPECT_EQ(img.width, 1100u);
  EXPECT_EQ(img.height, 460u);
  EXPECT_GE(img.distinct_colors(), 8u) << "a blank or nearly blank picture";
  // The palette's first three colors fill the bars of pld, aded and oracle.
  EXPECT_TRUE(has_pixel(img, 0x00, 0x72, 0xB2));
  EXPECT_TRUE(has_pixel(img, 0xD5, 0x5E, 0x00));
  EXPECT_TRUE(has_pixel(img, 0x00, 0x9E, 0x73));
  EXPECT_TRUE(has_pixel(img, 0xFF, 0xFF, 0xFF)) << "white background";
}

TEST_F(RenderChart, SizeFollowsTheContentsWhenNotGiven) {
  draw(bench_like_chart(), dir_ / "bench.png");
  const testing::PngImage img = testing::decode_png(testing::read_file(dir_ / "bench.png"));
  EXPECT_GE(img.width, 800u);
  EXPECT_GE(img.height, 300u);
}

TEST_F(RenderChart, ExplicitSeriesColorIsUsed) {
  Chart chart = bench_like_chart();
  chart.panels[0].series[0].color = "#112233";
  chart.panels[1].series[0].color = "#112233";
  draw(chart, dir_ / "bench.png");
  const testing::PngImage img = testing::decode_png(testing::read_file(dir_ / "bench.png"));
  EXPECT_TRUE(has_pixel(img, 0x11, 0x22, 0x33));
}

TEST_F(RenderChart, BarsAsSvgHoldEveryText) {
  draw(bench_like_chart(), dir_ / "bench.svg");
  const std::string svg = testing::read_file(dir_ / "bench.svg");
  ASSERT_EQ(svg.rfind("<?xml", 0), 0u) << svg.substr(0, 200);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  for (const char* text :
       {"Speculative decoding: code15M", "model code15M.gguf | 24 prompts",
        "Speedup over plain decoding", "Tokens per target forward", "prompt category",
        "speedup (x)", "tokens per forward", "summarization", "overall", "pld", "aded",
        "oracle:max=4", "1.0x = plain decoding", "1.74", "4.81"})
    EXPECT_NE(svg.find(text), std::string::npos) << "missing: " << text;
}

TEST_F(RenderChart, LinesAsPngAndSvg) {
  Chart chart = line_chart();
  chart.width = 900;
  chart.height = 420;
  draw(chart, dir_ / "lines.png");
  const testing::PngImage img = testing::decode_png(testing::read_file(dir_ / "lines.png"));
  EXPECT_EQ(img.width, 900u);
  EXPECT_EQ(img.height, 420u);
  EXPECT_GE(img.distinct_colors(), 8u);
  draw(chart, dir_ / "lines.SVG");  // the extension's case does not matter
  const std::string svg = testing::read_file(dir_ / "lines.SVG");
  for (const char* text : {"Cumulative regret", "Acceptance by depth", "draft depth", "thompson"})
    EXPECT_NE(svg.find(text), std::string::npos) << "missing: " << text;
}

TEST_F(RenderChart, TextsAreQuotedNotRun) {
  Chart chart = bench_like_chart();
  const fs::path marker = dir_ / "ran";
  chart.title = "it's <x> & \"y\"' . system('touch " + marker.string() + "') . '";
  chart.panels[0].categories[0] = "a'b\nc";
  draw(chart, dir_ / "quoted.svg");
  EXPECT_FALSE(fs::exists(marker));
  const std::string svg = testing::read_file(dir_ / "quoted.svg");
  EXPECT_NE(svg.find("it's &lt;x> &amp; \"y\"' . system('touch"), std::string::npos);
  EXPECT_NE(svg.find("a'b c"), std::string::npos);
}

TEST_F(RenderChart, UnsupportedExtensionIsNamed) {
  for (const char* name : {"chart.pdf", "chart", "chart.svg.txt"}) {
    const std::string message = error_of(bench_like_chart(), dir_ / name);
    EXPECT_NE(message.find(name), std::string::npos) << message;
    EXPECT_NE(message.find(".svg, .png"), std::string::npos) << message;
  }
  EXPECT_EQ(files_in(dir_.path()), 0u);
}

TEST_F(RenderChart, GnuplotMissingFromPathIsNamed) {
  const fs::path empty = dir_ / "empty-bin";
  fs::create_directory(empty);
  ScopedEnv path("PATH", empty.string());
  const std::string message = error_of(bench_like_chart(), dir_ / "chart.png");
  EXPECT_NE(message.find("gnuplot"), std::string::npos) << message;
  EXPECT_NE(message.find("No such file"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(dir_ / "chart.png"));
  EXPECT_EQ(files_in(dir_.path()), 1u) << "only the empty folder";
}

TEST_F(RenderChart, GnuplotProgramCanBeNamed) {
  PlotOptions options;
  options.gnuplot = (dir_ / "no-such-gnuplot").string();
  const std::string message = error_of(bench_like_chart(), dir_ / "chart.svg", options);
  EXPECT_NE(message.find("no-such-gnuplot"), std::string::npos) << message;
  EXPECT_NE(message.find("gnuplot-nox"), std::string::npos) << message;
  EXPECT_EQ(files_in(dir_.path()), 0u);
}

TEST_F(RenderChart, GnuplotFailureReportsItsStderrAndKeepsTheOldFile) {
  const fs::path fake = dir_ / "fake-gnuplot";
  testing::write_file(
      fake, "#!/bin/sh\necho 'line 3: something broke' >&2\necho 'second line' >&2\nexit 3\n");
  fs::permissions(fake, fs::perms::owner_all);
  testing::write_file(dir_ / "chart.png", "the old picture");
  PlotOptions options;
  options.gnuplot = fake.string();
  const std::string message = error_of(bench_like_chart(), dir_ / "chart.png", options);
  EXPECT_NE(message.find("gnuplot failed (exit code 3)"), std::string::npos) << message;
  EXPECT_NE(message.find("line 3: something broke | second line"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << "one line for the CLI: " << message;
  EXPECT_EQ(testing::read_file(dir_ / "chart.png"), "the old picture");
  EXPECT_EQ(files_in(dir_.path()), 2u) << "no temporary file left";
}

TEST_F(RenderChart, ReplacesAnExistingFile) {
  testing::write_file(dir_ / "chart.svg", "old");
  draw(bench_like_chart(), dir_ / "chart.svg");
  EXPECT_EQ(testing::read_file(dir_ / "chart.svg").rfind("<?xml", 0), 0u);
  EXPECT_EQ(files_in(dir_.path()), 1u);
}

TEST_F(RenderChart, WritesThroughASymbolicLink) {
  fs::create_directory(dir_ / "real");
  fs::create_symlink(dir_ / "real" / "chart.png", dir_ / "link.png");
  testing::write_file(dir_ / "real" / "chart.png", "old");
  draw(bench_like_chart(), dir_ / "link.png");
  EXPECT_TRUE(fs::is_symlink(fs::symlink_status(dir_ / "link.png")));
  EXPECT_NO_THROW(testing::decode_png(testing::read_file(dir_ / "real" / "chart.png")));
}

TEST_F(RenderChart, BadChartsAreRefusedBeforeGnuplotRuns) {
  Chart chart = bench_like_chart();
  chart.panels[1].series[2].y.pop_back();
  std::string message = error_of(chart, dir_ / "chart.png");
  EXPECT_NE(message.find("'oracle:max=4' has 4 values for 5 categories"), std::string::npos)
      << message;

  chart = bench_like_chart();
  chart.panels[0].series[0].color = "red; system('x')";
  message = error_of(chart, dir_ / "chart.png");
  EXPECT_NE(message.find("expected #rrggbb"), std::string::npos) << message;

  chart = line_chart();
  chart.panels[0].series[0].x.pop_back();
  message = error_of(chart, dir_ / "chart.png");
  EXPECT_NE(message.find("200 y values"), std::string::npos) << message;

  EXPECT_NE(error_of(Chart{}, dir_ / "chart.png").find("no panels"), std::string::npos);
  EXPECT_EQ(files_in(dir_.path()), 0u);
}

}  // namespace
}  // namespace aded
