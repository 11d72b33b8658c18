#include "report/gnuplot_script.h"

#include <fmt/format.h>

#include <cmath>

#include "report/axis_range.h"
#include "report/chart_layout.h"

namespace aded::report {

namespace {

constexpr const char* kTextColor = "#333333";
// gnuplot tags of the legend's objects, arrows and labels, clear of the ones numbered 1, 2, ...
constexpr int kLegendTags = 1000;

std::string number(double v) {
  return std::isfinite(v) ? fmt::format("{:.17g}", v) : "NaN";
}

// One data block per series, addressed by gnuplot's `index`.
class DataFile {
 public:
  int add_block(const std::string& rows) {
    if (blocks_ > 0) text_ += "\n\n";
    text_ += rows;
    return blocks_++;
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  int blocks_ = 0;
};

std::string plot_command(const std::vector<std::string>& clauses) {
  std::string s = "plot ";
  for (size_t i = 0; i < clauses.size(); ++i) s += (i ? ", \\\n     " : "") + clauses[i];
  return s + "\n";
}

void write_header(std::string& s, const Chart& chart, const ChartLayout& layout, ImageFormat format,
                  const std::string& image_path) {
  // noenhanced: texts are shown as written (no ^ or _ markup). The SVG names fallbacks for
  // viewers without DejaVu, and scales its font sizes from pixels to the points at 96 dpi that
  // cairo uses for the PNG, so both come out alike.
  const bool png = format == ImageFormat::kPng;
  s += fmt::format("set terminal {} size {},{} noenhanced font '{},{:g}' ",
                   png ? "pngcairo" : "svg fixed", layout.width, layout.height,
                   png ? "DejaVu Sans" : "DejaVu Sans,Arial,Helvetica,sans-serif", kTextFont);
  s += fmt::format("{}background rgb 'white'\n",
                   png ? "" : fmt::format("fontscale {:.4f} ", kPixelsPerPoint));
  s += fmt::format("set output {}\n", gnuplot_string(image_path));
  s += "set encoding utf8\nset multiplot\n";
  s += fmt::format("set border 3 lc rgb '{}'\n", kTextColor);
  s += fmt::format("set tics nomirror out scale 0.5 textcolor rgb '{}'\n", kTextColor);
  s += "set style fill solid 1.0 noborder\n";
  if (!chart.title.empty())
    s += fmt::format("set label 1 {} at screen 0.5,{:.5f} center font ',{:g}'\n",
                     gnuplot_string(chart.title), layout.title_y, kTitleFont);
  if (!chart.subtitle.empty())
    s += fmt::format("set label 2 {} at screen 0.5,{:.5f} center textcolor rgb '#555555'\n",
                     gnuplot_string(chart.subtitle), layout.subtitle_y);
  s += "unset key\n";
}

void write_panel_frame(std::string& s, const Panel& p, const PanelLayout& pl) {
  s += fmt::format("set lmargin at screen {:.5f}\nset rmargin at screen {:.5f}\n", pl.left,
                   pl.right);
  s += fmt::format("set tmargin at screen {:.5f}\nset bmargin at screen {:.5f}\n", pl.top,
                   pl.bottom);
  s += fmt::format("set title {} font ',{:g}'\n", gnuplot_string(p.title), kPanelTitleFont);
  s += fmt::format("set xlabel {}\nset ylabel {}\n", gnuplot_string(p.x_label),
                   gnuplot_string(p.y_label));
  s += "unset arrow\nunset logscale\nset format x '%g'\nset format y '%g'\n";
  for (const auto& r : p.references)
    s += fmt::format(
        "set arrow from graph 0, first {} to graph 1, first {} nohead dashtype 2 lw 1.5 "
        "lc rgb '#444444' back\n",
        number(r.y), number(r.y));
}

// Returns the plot clauses of a bars panel; its bars go into `data`.
std::vector<std::string> bar_plots(std::string& s, const Panel& p, const PanelLayout& pl,
                                   const ChartLayout& layout, DataFile& data,
                                   const std::string& data_file) {
  const size_t groups = p.categories.size(), bars = p.series.size();
  const double pitch = kGroupWidth / static_cast<double>(bars);
  s += fmt::format("set xrange [-0.5:{}]\n", static_cast<double>(groups) - 0.5);
  std::string tics;
  for (size_t c = 0; c < groups; ++c)
    tics += fmt::format("{}{} {}", c ? ", " : "", gnuplot_string(p.categories[c]), c);
  s += fmt::format("set xtics ({}) scale 0 {}\n", tics,
                   pl.rotate_categories ? "rotate by 30 right" : "norotate");
  s +=
      fmt::format("set yrange [{}:{}]\nset ytics {}, {}, {}\n", number(pl.y.low), number(pl.y.high),
                  number(pl.y.low), number(pl.y.step), number(pl.y.high + pl.y.step / 2));
  s += fmt::format("set format y '%.{}f'\n", tick_decimals(pl.y));
  s += "set grid noxtics ytics back linetype 1 linecolor rgb '#dcdcdc' linewidth 1\n";
  s += fmt::format("set boxwidth {} absolute\n", number(pitch * 0.88));
  std::vector<std::string> plots, labels;
  for (size_t b = 0; b < bars; ++b) {
    const Series& series = p.series[b];
    std::string rows;
    for (size_t c = 0; c < groups; ++c) {
      const double x = static_cast<double>(c) +
                       (static_cast<double>(b) - static_cast<double>(bars - 1) / 2) * pitch;
      const double v = series.y[c];
      rows += fmt::format("{} {} {}\n", number(x), number(v),
                          std::isfinite(v) ? value_label(v, p.value_decimals) : "-");
    }
    const int block = data.add_block(rows);
    plots.push_back(fmt::format("{} index {} using 1:2 with boxes lc rgb '{}' notitle", data_file,
                                block, layout.series_colors.at(series.name)));
    if (pl.value_labels == ValueLabels::kHorizontal)
      labels.push_back(
          fmt::format("{} index {} using 1:2:3 with labels center offset 0,0.55 font ',{:g}' "
                      "textcolor rgb '{}' notitle",
                      data_file, block, kValueFont, kTextColor));
    else if (pl.value_labels == ValueLabels::kVertical)
      labels.push_back(
          fmt::format("{} index {} using 1:2:3 with labels rotate by 90 left offset 0,0.35 "
                      "font ',{:g}' textcolor rgb '{}' notitle",
                      data_file, block, kValueFont, kTextColor));
  }
  plots.insert(plots.end(), labels.begin(), labels.end());
  return plots;
}

std::vector<std::string> line_plots(std::string& s, const Panel& p, const ChartLayout& layout,
                                    DataFile& data, const std::string& data_file) {
  s += "set autoscale xy\nunset xtics\nset xtics nomirror out scale 0.5 norotate autofreq\n";
  s += "set ytics autofreq\nset grid xtics ytics back linetype 1 linecolor rgb '#dcdcdc' linewidth "
       "1\n";
  if (p.log_x) s += "set logscale x\n";
  if (p.log_y) s += "set logscale y\n";
  std::vector<std::string> plots;
  for (const auto& series : p.series) {
    std::string rows;
    for (size_t i = 0; i < series.y.size(); ++i)
      rows += fmt::format("{} {}\n", number(series.x[i]), number(series.y[i]));
    const int block = data.add_block(rows);
    // Markers help a few points; on long curves they only blur the line.
    const char* style = series.y.size() <= 30 ? "linespoints pt 7 ps 0.6" : "lines";
    plots.push_back(fmt::format("{} index {} using 1:2 with {} lw 2 lc rgb '{}' notitle", data_file,
                                block, style, layout.series_colors.at(series.name)));
  }
  return plots;
}

// The chart's one legend, under the panels: samples and names placed by the layout, set with
// the first panel and cleared after it.
void write_legend(std::string& s, const ChartLayout& layout) {
  const double height = 10.0 / layout.height, dot = 3.0 / layout.width;
  int tag = kLegendTags;
  const auto segment = [&](double x0, double x1, double y, const std::string& style,
                           const std::string& color) {
    s += fmt::format(
        "set arrow {} from screen {:.5f},{:.5f} to screen {:.5f},{:.5f} nohead {} lc rgb '{}' "
        "front\n",
        tag++, x0, y, x1, y, style, color);
  };
  for (const auto& e : layout.legend) {
    const double x0 = e.x, x1 = e.x + layout.sample_width;
    if (e.style == LegendEntry::Style::kBar) {
      s += fmt::format(
          "set object {} rectangle from screen {:.5f},{:.5f} to screen {:.5f},{:.5f} "
          "fillcolor rgb '{}' fillstyle solid 1.0 noborder front\n",
          tag++, x0, e.y - height / 2, x1, e.y + height / 2, e.color);
    } else if (e.style == LegendEntry::Style::kLine) {
      segment(x0, x1, e.y, "lw 2", e.color);
      s += fmt::format(
          "set object {} circle at screen {:.5f},{:.5f} size screen {:.5f} fillcolor rgb '{}' "
          "fillstyle solid 1.0 noborder front\n",
          tag++, (x0 + x1) / 2, e.y, dot, e.color);
    } else {
      // Three dashes drawn one by one: gnuplot's dash pattern would not fit a short sample evenly.
      const double dash = (x1 - x0) / 5;
      for (int d = 0; d < 3; ++d)
        segment(x0 + 2 * d * dash, x0 + (2 * d + 1) * dash, e.y, "lw 1.5", e.color);
    }
    s += fmt::format("set label {} {} at screen {:.5f},{:.5f} left front textcolor rgb '{}'\n",
                     tag++, gnuplot_string(e.name), x1 + layout.label_gap, e.y, kTextColor);
  }
}

}  // namespace

std::string gnuplot_string(std::string_view text) {
  std::string s = "'";
  for (const char c : text) {
    if (c == '\'')
      s += "''";
    else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      s += ' ';
    else
      s += c;
  }
  return s + "'";
}

GnuplotInput gnuplot_input(const Chart& chart, ImageFormat format, const std::string& data_path,
                           const std::string& image_path) {
  const ChartLayout layout = layout_chart(chart);
  GnuplotInput in;
  DataFile data;
  const std::string data_file = gnuplot_string(data_path);
  write_header(in.script, chart, layout, format, image_path);
  for (size_t i = 0; i < chart.panels.size(); ++i) {
    const Panel& p = chart.panels[i];
    write_panel_frame(in.script, p, layout.panels[i]);
    const std::vector<std::string> clauses =
        p.kind == PanelKind::kGroupedBars
            ? bar_plots(in.script, p, layout.panels[i], layout, data, data_file)
            : line_plots(in.script, p, layout, data, data_file);
    if (i == 0) write_legend(in.script, layout);
    in.script += plot_command(clauses);
    // The titles and the legend belong to the whole chart: drawn once, with the first panel.
    if (i == 0) in.script += "unset label\nunset object\nunset arrow\n";
  }
  in.script += "unset multiplot\nunset output\n";
  in.data = data.text();
  return in;
}

}  // namespace aded::report
