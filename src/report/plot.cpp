// render_chart: check the chart, write gnuplot's input to a scratch folder, run gnuplot there,
// and only then put the finished image where it was asked for.
#include "aded/plot.h"

#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "aded/error.h"
#include "core/output_file.h"
#include "report/chart_check.h"
#include "report/gnuplot_script.h"
#include "report/run_program.h"

namespace aded {

namespace fs = std::filesystem;

namespace {

// A private folder for gnuplot's input and output, removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "aded-plot-XXXXXX").string();
    if (!::mkdtemp(pattern.data()))
      throw Error(fmt::format("cannot create a temporary folder like '{}': {}", pattern,
                              std::strerror(errno)));
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// gnuplot's messages on one line: the CLI reports an error as a single line.
std::string one_line(const std::string& text) {
  std::string out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    line.erase(0, line.find_first_not_of(" \t^"));
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    if (!line.empty()) out += (out.empty() ? "" : " | ") + line;
  }
  return out.empty() ? "(no message)" : out;
}

report::ProgramResult run_gnuplot(const PlotOptions& options, const fs::path& script,
                                  const fs::path& stderr_file) {
  try {
    return report::run_program(options.gnuplot, {script.string()}, stderr_file);
  } catch (const Error& e) {
    throw Error(
        fmt::format("charts are drawn by gnuplot, which could not be started ({}); install it "
                    "(Debian: apt-get install gnuplot-nox)",
                    e.what()));
  }
}

}  // namespace

std::optional<ImageFormat> image_format_for(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (ext == ".svg") return ImageFormat::kSvg;
  if (ext == ".png") return ImageFormat::kPng;
  return std::nullopt;
}

std::string accepted_image_extensions() {
  return ".svg, .png";
}

void render_chart(const Chart& chart, const std::string& path, const PlotOptions& options) {
  const auto format = image_format_for(path);
  if (!format)
    throw Error(fmt::format("cannot draw a chart into '{}': the file name must end in one of {}",
                            path, accepted_image_extensions()));
  report::check_chart(chart);
  ScratchDir scratch;
  const fs::path data = scratch / "chart.dat", script = scratch / "chart.gp",
                 errors = scratch / "gnuplot.stderr";
  const fs::path image = scratch / (*format == ImageFormat::kPng ? "chart.png" : "chart.svg");
  const report::GnuplotInput input =
      report::gnuplot_input(chart, *format, data.string(), image.string());
  write_output_file(data, input.data);
  write_output_file(script, input.script);
  const report::ProgramResult r = run_gnuplot(options, script, errors);
  if (r.exit_code != 0)
    throw Error(fmt::format("gnuplot failed (exit code {}) drawing '{}': {}", r.exit_code, path,
                            one_line(r.err)));
  const std::string bytes = read_bytes(image);
  if (bytes.empty())
    throw Error(fmt::format("gnuplot drew nothing for '{}': {}", path, one_line(r.err)));
  write_output_file(path, bytes);
}

}  // namespace aded
