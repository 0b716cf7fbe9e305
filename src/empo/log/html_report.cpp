#include "empo/log/html_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "empo/io/error.h"
#include "empo/log/chart.h"

namespace empo::log {

namespace fs = std::filesystem;

namespace {

// The charts in reading order: what EMPO optimises first, then what keeps it honest.
struct ChartSpec {
  const char* title;
  std::vector<const char*> keys;
};

const std::vector<ChartSpec>& chart_specs() {
  static const std::vector<ChartSpec> specs = {
      {"Reward", {"reward", "reward_std"}},
      {"Semantic entropy", {"empo/semantic_entropy", "empo/normalized_entropy"}},
      {"Semantic clusters per question", {"empo/num_clusters"}},
      {"Filtered questions (fraction)",
       {"empo/filtered_low", "empo/filtered_high", "frac_reward_zero_std"}},
      {"Completion length (tokens)",
       {"completions/mean_length", "completions/min_length", "completions/max_length"}},
      {"Truncated completions (fraction)", {"completions/clipped_ratio"}},
      {"KL to the starting policy", {"kl"}},
      {"Gradient norm (before clipping)", {"grad_norm"}},
      {"Learning rate", {"learning_rate"}},
      {"Throughput (tokens/s)", {"tokens_per_second"}},
      {"Loss", {"loss"}},
      {"Token entropy", {"entropy"}},
      {"Clipped ratio", {"clip_ratio/low_mean", "clip_ratio/high_mean"}},
      {"Step time (s)", {"time/generate", "time/reward", "time/train"}},
      {"Collapse guard strikes", {"guard/strikes"}},
  };
  return specs;
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

std::string fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

std::string percent(double value) {
  return fixed(100.0 * value, 1) + "%";
}

// A metric's (step, value) points over the lines that have it.
Series series_of(const std::vector<io::Json>& metrics, const std::string& key) {
  Series series{key, {}};
  for (const auto& line : metrics)
    if (line.contains(key) && line[key].is_number())
      series.points.push_back({line.value("step", 0.0), line[key].get<double>()});
  return series;
}

std::vector<double> strike_steps(const std::vector<io::Json>& metrics) {
  std::vector<double> steps;
  for (const auto& line : metrics)
    if (line.value("guard/strikes", 0.0) > 0) steps.push_back(line.value("step", 0.0));
  return steps;
}

// Every numeric key of the metrics, in first-seen order.
std::vector<std::string> metric_keys(const std::vector<io::Json>& metrics) {
  std::vector<std::string> keys;
  std::set<std::string> seen;
  for (const auto& line : metrics)
    for (const auto& [key, value] : line.items())
      if (value.is_number() && key != "step" && seen.insert(key).second) keys.push_back(key);
  return keys;
}

// The newest training line (eval lines hold only eval/* keys).
const io::Json* latest_training_line(const std::vector<io::Json>& metrics) {
  for (auto line = metrics.rbegin(); line != metrics.rend(); ++line)
    if (line->contains("reward")) return &*line;
  return nullptr;
}

std::string tile(const std::string& label, const std::string& value, const std::string& kind = "") {
  return "<div class=\"tile" + (kind.empty() ? "" : " " + kind) + "\"><b>" + html_escape(value) +
         "</b><span>" + html_escape(label) + "</span></div>";
}

std::string summary_tiles(const RunLogs& run) {
  const io::Json* latest = latest_training_line(run.metrics);
  std::string html = "<section class=\"tiles\">";
  if (!latest) return html + tile("steps logged", "0") + "</section>";
  auto value = [&](const char* key) { return latest->value(key, 0.0); };
  html += tile("step", std::to_string(latest->value("step", 0L)));
  html += tile("reward", fixed(value("reward"), 3));
  html += tile("semantic entropy", fixed(value("empo/semantic_entropy"), 3));
  html += tile("clusters / question", fixed(value("empo/num_clusters"), 2));
  if (latest->contains("monitor/accuracy"))
    html += tile("accuracy (labels, monitoring)", percent(value("monitor/accuracy")));
  if (latest->contains("tokens_per_second"))
    html += tile("tokens/s", fixed(value("tokens_per_second"), 0));
  const double strikes = value("guard/strikes");
  const size_t struck = strike_steps(run.metrics).size();
  html += tile("guard strikes (" + std::to_string(struck) + " steps struck)", fixed(strikes, 0),
               strikes > 0 ? "alarm" : "");
  if (run.results && run.results->value("stopped_by_guard", false))
    html += tile("stopped by the collapse guard", "stop", "alarm");
  return html + "</section>";
}

std::string evaluation_section(const RunLogs& run) {
  std::string rows;
  // Benchmarks evaluated by the trainer at checkpoints: first vs latest.
  for (const auto& key : metric_keys(run.metrics)) {
    if (!starts_with(key, "eval/")) continue;
    auto series = series_of(run.metrics, key);
    const auto& first = series.points.front();
    const auto& last = series.points.back();
    const bool changed = series.points.size() > 1;
    rows += "<tr><td>" + html_escape(key.substr(5)) + "</td><td>" + percent(first.second) +
            " <small>step " + tick_label(first.first) + "</small></td><td>" +
            (changed ? percent(last.second) + " <small>step " + tick_label(last.first) + "</small>"
                     : "&mdash;") +
            "</td><td>" +
            (changed ? (last.second >= first.second ? "+" : "") +
                           fixed(100.0 * (last.second - first.second), 1) + " pts"
                     : "") +
            "</td></tr>";
  }
  // The demo's held-out evaluation before and after training.
  if (run.results) {
    const auto& results = *run.results;
    const auto before = results.value("before", io::Json::object());
    const auto after = results.value("after", io::Json::object());
    for (const auto& [key, label] : std::vector<std::pair<std::string, std::string>>{
             {"greedy_pass1", "held-out greedy pass@1"},
             {"sampled_pass1", "held-out sampled pass@1"},
             {"maj_at_g", "held-out maj@G"}}) {
      if (!before.contains(key) || !after.contains(key)) continue;
      const double a = before[key].get<double>(), b = after[key].get<double>();
      rows += "<tr><td>" + label + "</td><td>" + percent(a) + "</td><td>" + percent(b) +
              "</td><td>" + (b >= a ? "+" : "") + fixed(100.0 * (b - a), 1) + " pts</td></tr>";
    }
  }
  if (rows.empty()) return "";
  return "<section><h2>Evaluation</h2><table class=\"eval\"><tr><th>benchmark</th>"
         "<th>before / first</th><th>after / latest</th><th>change</th></tr>" +
         rows + "</table></section>";
}

std::string charts_section(const RunLogs& run) {
  const auto keys = metric_keys(run.metrics);
  const auto strikes = strike_steps(run.metrics);
  std::set<std::string> drawn;
  std::vector<Chart> charts;
  auto add = [&](const std::string& title, const std::vector<std::string>& wanted) {
    Chart chart{title, {}, strikes};
    for (const auto& key : wanted)
      if (std::find(keys.begin(), keys.end(), key) != keys.end()) {
        chart.series.push_back(series_of(run.metrics, key));
        drawn.insert(key);
      }
    if (!chart.series.empty()) charts.push_back(chart);
  };
  auto with_prefix = [&](const std::string& prefix) {
    std::vector<std::string> found;
    for (const auto& key : keys)
      if (starts_with(key, prefix)) found.push_back(key);
    return found;
  };
  bool first = true;
  for (const auto& spec : chart_specs()) {
    add(spec.title, std::vector<std::string>(spec.keys.begin(), spec.keys.end()));
    if (first) {  // accuracy beside reward: a rising reward with falling accuracy is collapse
      add("Accuracy (labels, monitoring only)", with_prefix("monitor/"));
      add("Evaluation at checkpoints", with_prefix("eval/"));
      first = false;
    }
  }
  if (!run.curve.empty()) {
    Chart curve{"Held-out accuracy (demo curve)", {}, strikes};
    for (const char* key : {"greedy_pass1", "sampled_pass1", "maj_at_g"})
      curve.series.push_back(series_of(run.curve, key));
    charts.insert(charts.begin() + std::min<size_t>(charts.size(), 2), curve);
  }
  // Metrics without a chart of their own (epoch, num_tokens, new ones) stay one click away.
  const size_t main_charts = charts.size();
  for (const auto& key : keys)
    if (!drawn.count(key)) add(key, {key});
  std::string html = "<section><h2>Training curves</h2>";
  if (charts.empty()) return html + "<p class=\"note\">No metrics logged yet.</p></section>";
  if (!strikes.empty())
    html +=
        "<p class=\"note alarm\">Red bands: steps where the collapse guard counted a strike "
        "(normalised semantic entropy below its floor while the reward is above its "
        "ceiling).</p>";
  html += "<div class=\"charts\">";
  for (size_t c = 0; c < main_charts; ++c) html += svg_line_chart(charts[c]);
  html += "</div>";
  if (charts.size() > main_charts) {
    html += "<details class=\"more\"><summary>Other metrics (" +
            std::to_string(charts.size() - main_charts) + ")</summary><div class=\"charts\">";
    for (size_t c = main_charts; c < charts.size(); ++c) html += svg_line_chart(charts[c]);
    html += "</div></details>";
  }
  return html + "</section>";
}

// Pastel backgrounds for the clusters of one question, by size rank: the largest cluster (the
// answer EMPO rewards most) always has the first colour.
const char* cluster_background(size_t rank) {
  static const char* const colours[] = {"#cde4f7", "#fbd9c4", "#cdeedd", "#f3d3e8",
                                        "#dcecf9", "#fbe8c2", "#e3ddf2", "#e9dccf"};
  return colours[rank % (sizeof colours / sizeof colours[0])];
}

std::string shorten(const std::string& text, size_t limit) {
  if (text.size() <= limit) return text;
  size_t cut = limit;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // UTF-8
  return text.substr(0, cut) + "…";
}

std::string signed_number(double value) {
  return (value >= 0 ? "+" : "") + fixed(value, 2);
}

std::string question_row(const QuestionCompletions& entry) {
  const size_t G = entry.completions.size();
  // Clusters by size (ties: the smaller id first); samples without an answer come last.
  std::map<int, int> sizes;
  std::map<int, bool> answered;
  for (size_t i = 0; i < G; ++i) {
    ++sizes[entry.cluster_ids[i]];
    answered[entry.cluster_ids[i]] = answered[entry.cluster_ids[i]] || !entry.answers[i].empty();
  }
  std::vector<int> order;
  for (const auto& [id, size] : sizes) order.push_back(id);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    if (answered[a] != answered[b]) return answered[a];
    return sizes[a] > sizes[b];
  });
  std::map<int, size_t> rank;
  for (size_t r = 0; r < order.size(); ++r) rank[order[r]] = r;
  auto background = [&](size_t i) {
    return entry.answers[i].empty() ? "#eeeeee" : cluster_background(rank[entry.cluster_ids[i]]);
  };
  auto border = [&](size_t i) {
    return entry.answers[i].empty() ? "#999999" : series_colour(rank[entry.cluster_ids[i]]);
  };
  // Cards grouped by cluster, largest first, so the consensus reads at a glance.
  std::vector<size_t> samples(G);
  for (size_t i = 0; i < G; ++i) samples[i] = i;
  std::stable_sort(samples.begin(), samples.end(), [&](size_t a, size_t b) {
    return rank[entry.cluster_ids[a]] < rank[entry.cluster_ids[b]];
  });

  std::string html = "<tr><td class=\"question\"><pre class=\"question-text\">" +
                     html_escape(shorten(entry.question, 400)) + "</pre>";
  if (!entry.label.empty()) {
    std::string label;
    for (const auto& answer : entry.label) label += (label.empty() ? "" : ", ") + answer;
    html += "<div class=\"label\">label: <b>" + html_escape(shorten(label, 80)) + "</b></div>";
  }
  // The cluster shares p(c) as one stacked bar.
  html += "<div class=\"shares\">";
  for (int id : order) {
    size_t first = 0;
    while (entry.cluster_ids[first] != id) ++first;
    const std::string answer = entry.answers[first].empty() ? "no answer" : entry.answers[first];
    html += "<span style=\"flex:" + std::to_string(sizes[id]) + ";background:" + border(first) +
            "\" title=\"" + html_escape(shorten(answer, 40)) + ": " + std::to_string(sizes[id]) +
            "/" + std::to_string(G) + "\"></span>";
  }
  html += "</div><div class=\"clusters\">" + std::to_string(sizes.size()) +
          (sizes.size() == 1 ? " cluster" : " clusters") + " of " + std::to_string(G) +
          "</div></td><td><div class=\"samples\">";
  for (size_t i : samples) {
    const bool empty = entry.answers[i].empty();
    html += std::string("<div class=\"sample") + (empty ? " no-answer" : "") +
            "\" style=\"background:" + background(i) + ";border-color:" + border(i) +
            "\" title=\"sample " + std::to_string(i) + ", cluster " +
            std::to_string(entry.cluster_ids[i]) + "\">";
    html += "<div class=\"answer\">" +
            (empty ? std::string("<i>no answer</i>")
                   : "<b>" + html_escape(shorten(entry.answers[i], 40)) + "</b>") +
            (entry.correct.empty() ? ""
             : entry.correct[i]    ? " <span class=\"right\">✓</span>"
                                   : " <span class=\"wrong\">✗</span>") +
            "</div><div class=\"scores\">r " + fixed(entry.rewards[i], 2) + " · A " +
            signed_number(entry.advantages[i]) + "</div>";
    const std::string& text = entry.completions[i];
    if (text.size() <= 160)
      html += "<pre>" + html_escape(text) + "</pre>";
    else
      html += "<details><summary><pre>" + html_escape(shorten(text, 160)) +
              "</pre></summary><pre>" + html_escape(text) + "</pre></details>";
    html += "</div>";
  }
  return html + "</div></td></tr>";
}

std::string completions_section(const RunLogs& run) {
  if (run.completions.empty()) return "";
  // The first and the latest logged step: what changed in what the policy writes.
  std::vector<long> steps = {run.completions.front().step};
  if (run.completions.back().step != steps[0]) steps.push_back(run.completions.back().step);
  std::string html =
      "<section><h2>Sample completions</h2><p class=\"note\">Each card is one of the G "
      "completions of a question, coloured by its semantic cluster (largest cluster first "
      "colour; grey: no extractable answer), with its answer, reward r and advantage A. "
      "From completions.jsonl.</p>";
  for (long step : steps) {
    html += "<h3>Step " + std::to_string(step) +
            (step == steps[0] ? " (first logged)" : " (latest)") +
            "</h3><table class=\"completions\"><tr><th>question</th><th>completions</th></tr>";
    for (const auto& entry : run.completions)
      if (entry.step == step) html += question_row(entry);
    html += "</table>";
  }
  return html + "</section>";
}

const char* kStyle = R"(
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1280px;padding:16px 24px;color:#222;background:#fff}
h1{font-size:22px;margin:4px 0}h2{font-size:18px;margin:24px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}h3{font-size:15px;margin:14px 0 6px}
.sub{color:#666;margin:0 0 12px}.note{color:#555;margin:4px 0 10px}.note.alarm{color:#b00020}
.tiles{display:flex;flex-wrap:wrap;gap:10px}.tile{border:1px solid #ddd;border-radius:6px;padding:6px 12px;min-width:110px;background:#fafafa}
.tile b{display:block;font-size:22px}.tile span{color:#666;font-size:12px}.tile.alarm{border-color:#b00020;background:#fdecee}.tile.alarm b{color:#b00020}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(380px,1fr));gap:14px}
figure.chart{margin:0;border:1px solid #e3e3e3;border-radius:6px;padding:6px 8px}
figcaption{font-weight:600;font-size:13px}.legend{font-size:11px;color:#444;min-height:15px}.legend span{margin-right:10px;white-space:nowrap}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:3px;vertical-align:-1px}.legend i.marked{background:#efa7b0}
svg{width:100%;height:auto;display:block}svg .grid{stroke:#eee}svg .frame{fill:none;stroke:#bbb}svg .tick{font-size:10px;fill:#666}
svg .series{fill:none;stroke-width:1.8}svg rect.marked{fill:#e06070;fill-opacity:.35}svg .empty{fill:#999;font-size:13px}
table{border-collapse:collapse}th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f4f4f4}
table.eval td:nth-child(n+2){text-align:right}small{color:#777}
table.completions{width:100%}td.question{width:210px}pre.question-text{margin:0;font-size:14px}.label{margin-top:6px}.clusters{color:#666;font-size:12px}
.shares{display:flex;height:10px;margin-top:6px;border-radius:3px;overflow:hidden;gap:1px}
.samples{display:grid;grid-template-columns:repeat(auto-fill,minmax(112px,1fr));gap:5px}
.sample{border:2px solid;border-radius:5px;padding:4px 6px;font-size:12px}.sample .answer{font-size:14px}.sample .scores{color:#444}
.sample.no-answer{border-style:dashed}.right{color:#117a37;font-weight:700}.wrong{color:#b00020;font-weight:700}
pre{white-space:pre-wrap;word-break:break-word;font:12px/1.3 ui-monospace,Menlo,Consolas,monospace;margin:4px 0 0}
.sample details summary{cursor:pointer;list-style:none}.sample details[open] summary{display:none}
details.more{margin-top:10px}details.more>summary{cursor:pointer;font-weight:600;margin-bottom:8px}
)";

}  // namespace

RunLogs read_run_logs(const std::string& run_dir) {
  RunLogs run;
  run.run_dir = run_dir;
  const fs::path dir(run_dir);
  const bool has_metrics = fs::exists(dir / "metrics.jsonl");
  const bool has_results = fs::exists(dir / "results.json");
  if (!fs::is_directory(dir) || (!has_metrics && !has_results))
    throw InputError(run_dir + ": not a run folder (expected metrics.jsonl or results.json in it)");
  run.metrics = read_complete_jsonl((dir / "metrics.jsonl").string());
  const std::string completions_path = (dir / "completions.jsonl").string();
  long number = 0;
  for (const auto& line : read_complete_jsonl(completions_path))
    run.completions.push_back(
        completions_from_json(line, completions_path + ":" + std::to_string(++number)));
  if (has_results) {
    const std::string path = (dir / "results.json").string();
    try {
      run.results = io::Json::parse(io::read_file(path));
    } catch (const io::Json::parse_error& error) {
      throw InputError(path + ": invalid JSON: " + error.what());
    }
  }
  run.curve = read_complete_jsonl((dir / "curve.jsonl").string());
  if (fs::exists(dir / "config.yaml"))
    run.config_yaml = io::read_file((dir / "config.yaml").string());
  return run;
}

std::string render_html_report(const RunLogs& run) {
  std::string name = fs::path(run.run_dir).filename().string();
  if (name.empty() || name == ".")
    name = fs::absolute(run.run_dir).parent_path().filename().string();
  const io::Json* latest = latest_training_line(run.metrics);
  std::string subtitle = html_escape(run.run_dir) + " · ";
  subtitle += latest ? std::to_string(latest->value("step", 0L)) + " steps logged"
                     : std::string("no step logged yet");
  if (run.results) subtitle += " · finished (results.json)";
  std::string html =
      "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>empo "
      "report: " +
      html_escape(name) + "</title><style>" + kStyle +
      "</style></head><body><h1>empo run report: " + html_escape(name) + "</h1><p class=\"sub\">" +
      subtitle + "</p>";
  html += summary_tiles(run);
  html += evaluation_section(run);
  html += charts_section(run);
  html += completions_section(run);
  if (!run.config_yaml.empty())
    html += "<section><h2>Config</h2><details><summary>config.yaml</summary><pre>" +
            html_escape(run.config_yaml) + "</pre></details></section>";
  return html + "</body></html>\n";
}

std::string write_html_report(const std::string& run_dir) {
  const std::string path = (fs::path(run_dir) / "report.html").string();
  io::write_file_atomic(path, render_html_report(read_run_logs(run_dir)));
  return path;
}

}  // namespace empo::log
