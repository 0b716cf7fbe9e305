#include "empo/log/chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace empo::log {

namespace {

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", value);
  return text;
}

}  // namespace

const char* series_colour(size_t index) {
  // Colour-blind friendly (Okabe-Ito, without yellow, which is unreadable on white).
  static const char* const colours[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                        "#56B4E9", "#E69F00", "#000000", "#8C564B"};
  return colours[index % (sizeof colours / sizeof colours[0])];
}

std::string html_escape(const std::string& text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        escaped += "&amp;";
        break;
      case '<':
        escaped += "&lt;";
        break;
      case '>':
        escaped += "&gt;";
        break;
      case '"':
        escaped += "&quot;";
        break;
      case '\'':
        escaped += "&#39;";
        break;
      default:
        escaped += c;
    }
  }
  return escaped;
}

std::vector<double> axis_ticks(double low, double high, int target, double min_step) {
  if (!std::isfinite(low) || !std::isfinite(high)) return {0.0, 1.0};
  if (high < low) std::swap(low, high);
  if (high - low < 1e-12 * std::max(1.0, std::abs(high))) {
    const double pad = low == 0 ? 1.0 : std::abs(low) * 0.1;
    low -= pad;
    high += pad;
  }
  const double raw = (high - low) / std::max(1, target);
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  double step = power;
  for (double factor : {1.0, 2.0, 5.0, 10.0})
    if (factor * power >= raw) {
      step = factor * power;
      break;
    }
  step = std::max(step, min_step);
  std::vector<double> ticks;
  const double first = std::floor(low / step) * step;
  for (int i = 0; first + i * step < high + step * 0.999; ++i) {
    const double tick = first + i * step;
    ticks.push_back(std::abs(tick) < step * 1e-9 ? 0.0 : tick);
  }
  return ticks;
}

std::string tick_label(double value) {
  const double magnitude = std::abs(value);
  char text[32];
  if (value == 0)
    return "0";
  else if (magnitude >= 1e6)
    std::snprintf(text, sizeof text, "%gM", value / 1e6);
  else if (magnitude >= 1e4)
    std::snprintf(text, sizeof text, "%gk", value / 1e3);
  else if (magnitude < 1e-3)
    std::snprintf(text, sizeof text, "%.3g", value);
  else
    std::snprintf(text, sizeof text, "%.4g", value);
  return text;
}

std::string svg_line_chart(const Chart& chart, int width, int height) {
  // Plot area inside margins for the tick labels (left, bottom) and the title (top).
  const double left = 46, right = 10, top = 10, bottom = 24;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  double x_low = std::numeric_limits<double>::infinity(), x_high = -x_low;
  double y_low = x_low, y_high = -x_low;
  size_t most_points = 0;
  for (const auto& series : chart.series) {
    most_points = std::max(most_points, series.points.size());
    for (const auto& [x, y] : series.points) {
      if (!std::isfinite(y)) continue;
      x_low = std::min(x_low, x), x_high = std::max(x_high, x);
      y_low = std::min(y_low, y), y_high = std::max(y_high, y);
    }
  }
  std::string svg = "<figure class=\"chart\"><figcaption>" + html_escape(chart.title) +
                    "</figcaption><div class=\"legend\">";
  for (size_t s = 0; s < chart.series.size(); ++s)
    svg += "<span><i style=\"background:" + std::string(series_colour(s)) + "\"></i>" +
           html_escape(chart.series[s].name) + "</span>";
  if (!chart.marked_steps.empty())
    svg += "<span><i class=\"marked\"></i>" + html_escape(chart.marked_label) + "</span>";
  svg += "</div><svg viewBox=\"0 0 " + std::to_string(width) + " " + std::to_string(height) +
         "\" role=\"img\" aria-label=\"" + html_escape(chart.title) + "\">";
  if (!std::isfinite(x_low)) {
    svg += "<text x=\"" + number(width / 2.0) + "\" y=\"" + number(height / 2.0) +
           "\" text-anchor=\"middle\" class=\"empty\">no data yet</text></svg></figure>";
    return svg;
  }
  const auto y_ticks = axis_ticks(y_low, y_high, 4);
  y_low = std::min(y_low, y_ticks.front()), y_high = std::max(y_high, y_ticks.back());
  const auto x_ticks = axis_ticks(x_low, x_high, 5, 1.0);
  if (x_high == x_low) x_low = x_ticks.front(), x_high = x_ticks.back();
  auto px = [&](double x) { return left + (x - x_low) / (x_high - x_low) * plot_w; };
  auto py = [&](double y) { return top + (y_high - y) / (y_high - y_low) * plot_h; };
  // Marked steps first, so the curves stay on top.
  // A band half a step wide (at most 12 px), cut at the frame.
  const double band = std::clamp(plot_w / std::max(1.0, x_high - x_low) * 0.5, 2.0, 12.0);
  for (double step : chart.marked_steps) {
    if (step < x_low || step > x_high) continue;
    const double from = std::max(left, px(step) - band / 2);
    const double to = std::min(left + plot_w, px(step) + band / 2);
    svg += "<rect class=\"marked\" x=\"" + number(from) + "\" y=\"" + number(top) + "\" width=\"" +
           number(to - from) + "\" height=\"" + number(plot_h) + "\"><title>" +
           html_escape(chart.marked_label) + " at step " + tick_label(step) + "</title></rect>";
  }
  for (double tick : y_ticks) {
    if (tick < y_low - 1e-12 || tick > y_high + 1e-12) continue;
    svg += "<line class=\"grid\" x1=\"" + number(left) + "\" x2=\"" + number(left + plot_w) +
           "\" y1=\"" + number(py(tick)) + "\" y2=\"" + number(py(tick)) + "\"/>";
    svg += "<text class=\"tick\" x=\"" + number(left - 4) + "\" y=\"" + number(py(tick) + 3.5) +
           "\" text-anchor=\"end\">" + tick_label(tick) + "</text>";
  }
  for (double tick : x_ticks) {
    if (tick < x_low - 1e-9 || tick > x_high + 1e-9) continue;
    svg += "<text class=\"tick\" x=\"" + number(px(tick)) + "\" y=\"" + number(top + plot_h + 15) +
           "\" text-anchor=\"middle\">" + tick_label(tick) + "</text>";
  }
  svg += "<rect class=\"frame\" x=\"" + number(left) + "\" y=\"" + number(top) + "\" width=\"" +
         number(plot_w) + "\" height=\"" + number(plot_h) + "\"/>";
  for (size_t s = 0; s < chart.series.size(); ++s) {
    const auto& series = chart.series[s];
    const std::string colour = series_colour(s);
    std::string points;
    for (const auto& [x, y] : series.points)
      if (std::isfinite(y)) points += number(px(x)) + "," + number(py(y)) + " ";
    svg += "<polyline class=\"series\" stroke=\"" + colour + "\" points=\"" + points + "\"/>";
    const bool dots = most_points <= 40;
    for (const auto& [x, y] : series.points) {
      if (!std::isfinite(y)) continue;
      svg += "<circle cx=\"" + number(px(x)) + "\" cy=\"" + number(py(y)) + "\" r=\"" +
             (dots ? "2.5" : "6") + "\" fill=\"" + colour + "\"" +
             (dots ? "" : " fill-opacity=\"0\"") + "><title>" + html_escape(series.name) +
             " at step " + tick_label(x) + ": " + tick_label(y) + "</title></circle>";
    }
  }
  return svg + "</svg></figure>";
}

}  // namespace empo::log
