#pragma once
// Line charts as inline SVG drawn by our own code, so a report is one self-contained HTML file
// that opens without a network or a script.
#include <string>
#include <utility>
#include <vector>

namespace empo::log {

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (step, value), by step
};

struct Chart {
  std::string title;
  std::vector<Series> series;
  // Steps to mark with a vertical band (the collapse guard's strikes).
  std::vector<double> marked_steps;
  std::string marked_label = "guard strike";
};

// Round axis ticks covering [low, high]: steps of 1, 2 or 5 times a power of ten, at most
// about `target` of them, and no finer than min_step (1 for step counts). low == high gives a
// range around the value.
std::vector<double> axis_ticks(double low, double high, int target = 5, double min_step = 0);

// Tick text: "0.25", "1.2k", "3e-05" (short, no trailing zeros).
std::string tick_label(double value);

// <figure class="chart"><svg>...</svg></figure>: axes, ticks, one coloured polyline per
// series (dots when there are few points, a <title> tooltip per point), a legend, and the
// marked steps. Text is HTML-escaped.
std::string svg_line_chart(const Chart& chart, int width = 380, int height = 220);

// The colour of the k-th series (also used for the cluster colours of the report).
const char* series_colour(size_t index);

std::string html_escape(const std::string& text);

}  // namespace empo::log
