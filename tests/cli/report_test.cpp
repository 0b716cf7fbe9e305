// `empo report`: report.html of a short real run (and of a run still in progress), rendered
// by headless Chromium; `--markdown` keeps the demo tables.
#include <gtest/gtest.h>

#include <filesystem>

#include "empo/io/jsonl.h"
#include "short_run.h"

namespace empo {

namespace {

using test::count;

size_t cards(const std::string& html) {
  return count(html, "<div class=\"sample\"") + count(html, "<div class=\"sample no-answer\"");
}

}  // namespace

TEST(ReportCommand, WritesReportOfARunAndChromiumRendersIt) {
  auto dir = test::temp_dir("report_cli");
  // A guard floor above any entropy the demo reaches: every step counts a strike (patience
  // is never reached), so the strikes are marked on the charts.
  auto run = test::short_demo_run(
      dir, 6,
      "guard_stop_rule=true guard_entropy_floor=1 guard_reward_ceiling=-1 guard_patience=99");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto report = test::run_empo("report " + dir + "/run");
  ASSERT_EQ(report.exit_code, 0) << report.output;
  const std::string path = dir + "/run/report.html";
  EXPECT_EQ(report.output, path + "\n");
  const std::string html = test::read_text(path);
  EXPECT_GE(count(html, "<figure class=\"chart\">"), 12u);
  EXPECT_GT(count(html, "guard strike at step"), 12u);
  // A card per completion: 2 steps (first, latest) x 4 questions x G.
  EXPECT_EQ(cards(html), 2u * 4u * 8u);
  EXPECT_NE(html.find("Step 1 (first logged)"), std::string::npos);
  EXPECT_NE(html.find("Step 6 (latest)"), std::string::npos);
  EXPECT_NE(html.find("<td>test/greedy_pass1</td>"), std::string::npos);  // eval/* first, latest

  if (test::run_shell("command -v chromium >/dev/null").exit_code != 0)
    GTEST_SKIP() << "chromium is not installed (Debian package chromium)";
  const std::string screenshot = test::build_dir() + "/report_screenshot.png";
  std::filesystem::remove(screenshot);
  const std::string chromium =
      "timeout 120 chromium --headless --no-sandbox --disable-gpu "
      "--hide-scrollbars --user-data-dir=" +
      dir + "/chromium --window-size=1280,4400 ";
  // --dump-dom prints the DOM after loading; console messages (script errors) go to stderr.
  auto dom = test::run_shell(chromium + "--enable-logging=stderr --v=0 --dump-dom file://" + path +
                             " 2>" + dir + "/console.txt");
  ASSERT_EQ(dom.exit_code, 0) << test::read_text(dir + "/console.txt");
  const std::string console = test::read_text(dir + "/console.txt");
  EXPECT_EQ(console.find("Uncaught"), std::string::npos) << console;
  EXPECT_EQ(console.find(":CONSOLE("), std::string::npos) << console;
  EXPECT_GE(count(dom.output, "<svg"), 12u);
  EXPECT_GE(count(dom.output, "<polyline"), 12u);
  EXPECT_NE(dom.output.find("<table class=\"completions\">"), std::string::npos);
  EXPECT_EQ(cards(dom.output), 2u * 4u * 8u);
  auto shot =
      test::run_shell(chromium + "--screenshot=" + screenshot + " file://" + path + " 2>&1");
  ASSERT_EQ(shot.exit_code, 0) << shot.output;
  ASSERT_TRUE(std::filesystem::exists(screenshot)) << shot.output;
  EXPECT_GT(std::filesystem::file_size(screenshot), 50000u);  // a rendered page, not a blank one
}

TEST(ReportCommand, RunInProgressAndMarkdownTables) {
  auto dir = test::temp_dir("report_cli");
  // A run that has logged one step and is writing the next line.
  test::write_text(dir + "/metrics.jsonl",
                   "{\"step\":1,\"reward\":0.5,\"empo/semantic_entropy\":1.2}\n{\"step\":2,\"rew");
  auto report = test::run_empo("report " + dir);
  ASSERT_EQ(report.exit_code, 0) << report.output;
  EXPECT_NE(test::read_text(dir + "/report.html").find("1 steps logged"), std::string::npos);
  // Not a run folder: exit 2 naming it.
  auto empty = test::temp_dir("report_cli");
  report = test::run_empo("report " + empty);
  EXPECT_EQ(report.exit_code, 2);
  EXPECT_NE(report.output.find("not a run folder"), std::string::npos) << report.output;
  // --markdown: the demo tables, as scripts/demo_experiments.sh prints them.
  test::write_text(
      dir + "/results.json",
      io::Json{{"before", {{"greedy_pass1", 0.2}, {"sampled_pass1", 0.3}, {"maj_at_g", 0.6}}},
               {"after", {{"greedy_pass1", 0.7}, {"sampled_pass1", 0.65}, {"maj_at_g", 0.75}}},
               {"reward", "empo"}}
          .dump());
  report = test::run_empo("report --markdown " + dir);
  ASSERT_EQ(report.exit_code, 0) << report.output;
  EXPECT_NE(report.output.find("| 20.0 -> 70.0 |"), std::string::npos) << report.output;
}

}  // namespace empo
