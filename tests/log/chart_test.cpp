#include "empo/log/chart.h"

#include <gtest/gtest.h>

#include <regex>

namespace empo::log {

TEST(Chart, TicksAreRoundAndCoverTheRange) {
  auto ticks = axis_ticks(0, 1, 5);
  const std::vector<double> expected = {0, 0.2, 0.4, 0.6, 0.8, 1.0};
  ASSERT_EQ(ticks.size(), expected.size());
  for (size_t i = 0; i < ticks.size(); ++i) EXPECT_NEAR(ticks[i], expected[i], 1e-12);
  ticks = axis_ticks(3, 57, 5);  // step 10
  EXPECT_EQ(ticks.front(), 0);
  EXPECT_EQ(ticks.back(), 60);
  ticks = axis_ticks(1, 3, 5, 1.0);  // steps: never a half step
  EXPECT_EQ(ticks, (std::vector<double>{1, 2, 3}));
  ticks = axis_ticks(0.5, 0.5, 4);  // a constant series still gets an axis around it
  EXPECT_LT(ticks.front(), 0.5);
  EXPECT_GT(ticks.back(), 0.5);
  ticks = axis_ticks(2e-4, 2e-4);
  EXPECT_LE(ticks.front(), 2e-4);
  EXPECT_GE(ticks.back(), 2e-4);
}

TEST(Chart, TickLabelsAreShort) {
  EXPECT_EQ(tick_label(0), "0");
  EXPECT_EQ(tick_label(0.2 + 0.1), "0.3");
  EXPECT_EQ(tick_label(25000), "25k");
  EXPECT_EQ(tick_label(2e-5), "2e-05");
  EXPECT_EQ(tick_label(1500), "1500");
}

TEST(Chart, SvgHasOneLinePerSeriesPointsInsideTheFrameAndMarks) {
  Chart chart{"Reward <&>", {{"reward", {{1, 0.1}, {2, 0.5}, {3, 0.9}}}, {"std", {{1, 0.3}}}}, {2}};
  const std::string svg = svg_line_chart(chart, 300, 200);
  EXPECT_NE(svg.find("Reward &lt;&amp;&gt;"), std::string::npos);
  EXPECT_EQ(svg.find("Reward <&>"), std::string::npos);
  std::regex polyline("<polyline");
  EXPECT_EQ(
      std::distance(std::sregex_iterator(svg.begin(), svg.end(), polyline), std::sregex_iterator()),
      2);
  EXPECT_NE(svg.find("class=\"marked\" x="), std::string::npos);
  EXPECT_NE(svg.find("guard strike at step 2"), std::string::npos);
  EXPECT_NE(svg.find("reward at step 3: 0.9"), std::string::npos);
  // Every dot lies inside the plot frame (left margin 46, right 10, top 10, bottom 24).
  std::regex circle("cx=\"([0-9.]+)\" cy=\"([0-9.]+)\"");
  int dots = 0;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), circle); it != std::sregex_iterator();
       ++it, ++dots) {
    const double x = std::stod((*it)[1]), y = std::stod((*it)[2]);
    EXPECT_GE(x, 46 - 1e-9);
    EXPECT_LE(x, 290 + 1e-9);
    EXPECT_GE(y, 10 - 1e-9);
    EXPECT_LE(y, 176 + 1e-9);
  }
  EXPECT_EQ(dots, 4);
  // The first and last step sit on the frame's left and right edges.
  EXPECT_NE(svg.find("cx=\"46.0\""), std::string::npos);
  EXPECT_NE(svg.find("cx=\"290.0\""), std::string::npos);
}

TEST(Chart, EmptyChartSaysSo) {
  EXPECT_NE(svg_line_chart(Chart{"KL", {{"kl", {}}}, {}}).find("no data yet"), std::string::npos);
}

}  // namespace empo::log
