// Charts for reports, described as data and drawn by gnuplot (Debian: gnuplot-nox) to SVG or PNG.
// A chart is a title, a subtitle and one or more panels side by side; a panel holds grouped bars
// (one group per category, one bar per series) or lines (x/y series). Series with the same name
// share one color across panels, and one legend below the panels names them all.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace aded {

enum class PanelKind { kGroupedBars, kLines };

struct Series {
  std::string name;
  std::vector<double> x;  // lines only: one x per y
  std::vector<double> y;  // grouped bars: one value per category; lines: one value per x
  std::string color;      // "#rrggbb"; empty: the next color of the chart's palette
};

// A dashed horizontal line across a panel, e.g. y = 1 for "1.0x = plain decoding"; the legend
// names it.
struct ReferenceLine {
  double y = 0;
  std::string label;
};

struct Panel {
  std::string title;
  std::string x_label, y_label;
  PanelKind kind = PanelKind::kGroupedBars;
  std::vector<std::string> categories;  // grouped bars: the groups, left to right
  std::vector<Series> series;
  std::vector<ReferenceLine> references;
  int value_decimals = 2;  // grouped bars: labels on the bars (when they fit)
  bool value_labels = true;
  bool log_x = false, log_y = false;  // lines only
};

struct Chart {
  std::string title;
  std::string subtitle;  // e.g. model, prompts, tokens, threads
  std::vector<Panel> panels;
  int width = 0, height = 0;  // pixels; 0: chosen from the panels' contents
};

enum class ImageFormat { kSvg, kPng };

// The format a file name asks for, by its extension (.svg or .png, any case); nullopt otherwise.
std::optional<ImageFormat> image_format_for(const std::string& path);
// ".svg, .png": for error messages.
std::string accepted_image_extensions();

struct PlotOptions {
  std::string gnuplot = "gnuplot";  // the program: a path, or a name looked up in PATH
};

// Draws the chart into `path` (format from the extension). Throws aded::Error with context on a
// bad chart, an unsupported extension, or when gnuplot is missing or fails; then nothing is left
// at `path`, and a file already there is untouched. The image is written to a temporary file next
// to `path` and renamed over it; a symbolic link is followed (the file it points to is replaced,
// the link stays), a device or named pipe is written through rather than replaced, and a folder
// or a link to nothing is refused.
void render_chart(const Chart& chart, const std::string& path, const PlotOptions& options = {});

}  // namespace aded
