#include "empo/log/html_report.h"

#include <gtest/gtest.h>

#include <regex>

#include "empo/io/error.h"
#include "test_support.h"

namespace empo::log {

namespace {

using test::count;

std::string metrics_line(int step, double reward, double entropy, int strikes) {
  io::Json line{{"step", step},
                {"reward", reward},
                {"empo/semantic_entropy", entropy},
                {"empo/num_clusters", 3.0 - step * 0.5},
                {"empo/filtered_low", 0.0},
                {"empo/filtered_high", 0.1},
                {"kl", 0.01 * step},
                {"grad_norm", 0.5},
                {"learning_rate", 2e-4},
                {"tokens_per_second", 1200.0},
                {"completions/mean_length", 20.0},
                {"monitor/accuracy", 0.6 - 0.1 * step},
                {"guard/strikes", strikes},
                {"my/custom", 7.0}};
  return line.dump() + "\n";
}

std::string completions_line(int step, const std::string& question) {
  QuestionCompletions entry;
  entry.step = step;
  entry.question = question;
  entry.completions = {"#25$", "#25$", "#26$", "I give up"};
  entry.answers = {"25", "25", "26", ""};
  entry.cluster_ids = {0, 0, 1, 2};
  entry.rewards = {0.5, 0.5, 0.25, 0.0};
  entry.advantages = {0.87, 0.87, -0.29, -1.44};
  entry.label = {"25"};
  entry.correct = {true, true, false, false};
  return to_json(entry).dump() + "\n";
}

}  // namespace

TEST(HtmlReport, ShowsCurvesStrikesEvaluationAndClusteredCompletions) {
  auto dir = test::temp_dir("html_report") + "/run";
  std::filesystem::create_directories(dir);
  test::write_text(dir + "/metrics.jsonl", metrics_line(1, 0.4, 1.0, 0) +
                                               metrics_line(2, 0.7, 0.5, 1) +
                                               "{\"step\":2,\"eval/adder/greedy_pass1\":0.25}\n" +
                                               metrics_line(3, 0.9, 0.2, 2) +
                                               "{\"step\":3,\"eval/adder/greedy_pass1\":0.5}\n");
  test::write_text(dir + "/completions.jsonl",
                   completions_line(1, "12+13=") + completions_line(3, "<b>7+8=</b>") +
                       "{\"step\":4,\"question\":\"half-writ");  // the run is still going
  test::write_text(dir + "/config.yaml", "max_steps: 60\n");
  auto path = write_html_report(dir);
  EXPECT_EQ(path, dir + "/report.html");
  const std::string html = test::read_text(path);
  // Self-contained: no script, nothing fetched.
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  // A chart per group of metrics: reward, accuracy, eval, entropy, clusters, filters, length,
  // KL, grad norm, lr, throughput, guard strikes, and the unknown metric.
  for (const char* title :
       {"Reward", "Accuracy (labels, monitoring only)", "Evaluation at checkpoints",
        "Semantic entropy", "Semantic clusters per question", "Filtered questions (fraction)",
        "Completion length (tokens)", "KL to the starting policy",
        "Gradient norm (before clipping)", "Learning rate", "Throughput (tokens/s)",
        "Collapse guard strikes", "my/custom"})
    EXPECT_NE(html.find("<figcaption>" + std::string(title) + "</figcaption>"), std::string::npos)
        << title;
  EXPECT_EQ(count(html, "<svg"), 13u);
  EXPECT_NE(html.find("Other metrics (1)</summary>"), std::string::npos);  // my/custom
  // Strikes at steps 2 and 3 are marked on every chart.
  EXPECT_EQ(count(html, "guard strike at step 2"), 13u);
  EXPECT_EQ(count(html, "guard strike at step 3"), 13u);
  EXPECT_EQ(html.find("guard strike at step 1"), std::string::npos);
  // Evaluation before/after from the eval/* lines.
  EXPECT_NE(html.find("<td>adder/greedy_pass1</td><td>25.0%"), std::string::npos);
  EXPECT_NE(html.find("+25.0 pts"), std::string::npos);
  // Completions of the first and the latest logged step, cards coloured by cluster size rank.
  EXPECT_NE(html.find("Step 1 (first logged)"), std::string::npos);
  EXPECT_NE(html.find("Step 3 (latest)"), std::string::npos);
  EXPECT_EQ(html.find("half-writ"), std::string::npos);
  EXPECT_NE(html.find("&lt;b&gt;7+8=&lt;/b&gt;"), std::string::npos);
  EXPECT_EQ(count(html, "<div class=\"sample\""), 6u);
  EXPECT_EQ(count(html, "<div class=\"sample no-answer\""), 2u);
  EXPECT_EQ(count(html, "background:#cde4f7"), 4u);  // the two "25"s of each question
  EXPECT_NE(html.find("r 0.25 · A -0.29"), std::string::npos);
  EXPECT_NE(html.find("label: <b>25</b>"), std::string::npos);
  EXPECT_EQ(count(html, "<span class=\"right\">✓</span>"), 4u);  // answers matching the label
  EXPECT_NE(html.find("max_steps: 60"), std::string::npos);
}

TEST(HtmlReport, DemoResultsAndFreshRuns) {
  auto dir = test::temp_dir("html_report");
  test::write_text(
      dir + "/results.json",
      io::Json{{"before", {{"greedy_pass1", 0.2}, {"sampled_pass1", 0.3}, {"maj_at_g", 0.6}}},
               {"after", {{"greedy_pass1", 0.7}, {"sampled_pass1", 0.65}, {"maj_at_g", 0.75}}}}
          .dump());
  auto html = render_html_report(read_run_logs(dir));
  EXPECT_NE(html.find("<td>held-out greedy pass@1</td><td>20.0%</td><td>70.0%</td><td>+50.0 pts"),
            std::string::npos);
  EXPECT_NE(html.find("No metrics logged yet"), std::string::npos);
  // A run that has just started: metrics.jsonl exists but holds no complete line.
  auto fresh = test::temp_dir("html_report");
  test::write_text(fresh + "/metrics.jsonl", "");
  EXPECT_NE(render_html_report(read_run_logs(fresh)).find("no step logged yet"), std::string::npos);
  try {
    read_run_logs(test::temp_dir("html_report"));
    ADD_FAILURE() << "an empty folder is not a run";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("not a run folder"), std::string::npos);
  }
}

}  // namespace empo::log
