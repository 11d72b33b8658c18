// A chart as gnuplot input: a script (layout, titles, axes, styles) and a data file (the numbers).
// Every text of the chart reaches gnuplot as a quoted string literal, never as script.
#pragma once

#include <string>
#include <string_view>

#include "aded/plot.h"

namespace aded::report {

struct GnuplotInput {
  std::string script;
  std::string data;
};

// The script draws into `image_path` and reads `data_path`, which must hold `.data`.
GnuplotInput gnuplot_input(const Chart& chart, ImageFormat format, const std::string& data_path,
                           const std::string& image_path);

// `text` as a gnuplot string literal: in single quotes nothing is special but the quote itself,
// written twice; line breaks and other control characters become spaces.
std::string gnuplot_string(std::string_view text);

}  // namespace aded::report
