// End to end: `empo grade` and `empo cluster` on JSONL files.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include <nlohmann/json.hpp>

#include "test_support.h"

namespace empo::test {
namespace {

using Json = nlohmann::json;

std::string shell_quoted(const std::string& path) {
  return "'" + path + "'";
}

CommandResult run(const std::string& command, const std::string& dir) {
  return run_empo(command + " --input " + shell_quoted(dir + "/in.jsonl") + " --output " +
                  shell_quoted(dir + "/out.jsonl"));
}

TEST(GradeCommand, DecidesEquivalence) {
  std::string dir = temp_dir("cli_grade");
  std::string input;
  const std::pair<const char*, const char*> pairs[] = {{"\\frac{1}{2}", "0.5"},
                                                       {"0.33", "\\frac13"},
                                                       {"\\sqrt{8}", "2\\sqrt{2}"},
                                                       {"(1,2)", "(2,1)"},
                                                       {"", ""},
                                                       {"x = 5", "5"}};
  for (const auto& [a, b] : pairs) input += Json{{"a", a}, {"b", b}}.dump() + "\n";
  input += "\n";  // blank lines are skipped
  write_text(dir + "/in.jsonl", input);
  CommandResult result = run("grade", dir);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  std::vector<Json> lines = read_jsonl(dir + "/out.jsonl");
  ASSERT_EQ(lines.size(), 6u);
  const bool expected[] = {true, false, true, false, false, true};
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i], (Json{{"equivalent", expected[i]}})) << "line " << i + 1;
  }
}

TEST(GradeCommand, ToleranceFlag) {
  std::string dir = temp_dir("cli_grade");
  write_text(dir + "/in.jsonl", Json{{"a", "0.33"}, {"b", "1/3"}}.dump() + "\n");
  CommandResult result = run("grade --tolerance 0.02", dir);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(read_jsonl(dir + "/out.jsonl").at(0)["equivalent"], true);
}

TEST(GradeCommand, BadLinesExitTwoWithFileAndLine) {
  const std::pair<const char*, const char*> cases[] = {
      {"{\"a\": \"1\", \"b\": \"1\"}\n{oops\n", "in.jsonl:2:"},
      {"{\"a\": \"1\", \"b\": \"1\"}\n\n{\"a\": \"1\"}\n", "in.jsonl:3: missing field \"b\""},
      {"{\"a\": 1, \"b\": \"1\"}\n", "in.jsonl:1: field \"a\" must be a string"},
      {"[1, 2]\n", "in.jsonl:1:"},
  };
  for (const auto& [input, message] : cases) {
    std::string dir = temp_dir("cli_grade_bad");
    write_text(dir + "/in.jsonl", input);
    write_text(dir + "/out.jsonl", "untouched\n");
    CommandResult result = run("grade", dir);
    EXPECT_EQ(result.exit_code, 2) << result.output;
    EXPECT_NE(result.output.find(message), std::string::npos) << result.output;
    EXPECT_EQ(read_text(dir + "/out.jsonl"), "untouched\n");
  }
  CommandResult missing = run_empo("grade --input /nonexistent/in.jsonl --output /tmp/x.jsonl");
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
}

TEST(ClusterCommand, ClustersAnswersAndReportsEntropy) {
  std::string dir = temp_dir("cli_cluster");
  Json first = {{"answers", {"\\frac12", "0.5", "3", "", "x=3", "1/2"}}};
  Json second = {{"answers", Json::array()}};
  Json third = {{"answers", {"(C)", "\\text{(C)}", "(D)"}}};
  write_text(dir + "/in.jsonl", first.dump() + "\n" + second.dump() + "\n" + third.dump() + "\n");
  CommandResult result = run("cluster", dir);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  std::vector<Json> lines = read_jsonl(dir + "/out.jsonl");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["cluster_ids"], (Json{0, 0, 1, 2, 1, 0}));
  EXPECT_EQ(lines[0]["cluster_sizes"], (Json{3, 2, 1}));
  double expected =
      -(0.5 * std::log(0.5) + (2.0 / 6) * std::log(2.0 / 6) + (1.0 / 6) * std::log(1.0 / 6));
  EXPECT_NEAR(lines[0]["entropy"].get<double>(), expected, 1e-12);
  EXPECT_EQ(lines[1]["cluster_ids"], Json::array());
  EXPECT_EQ(lines[1]["entropy"].get<double>(), 0.0);
  EXPECT_EQ(lines[2]["cluster_ids"], (Json{0, 0, 1}));
}

TEST(ClusterCommand, BadLinesExitTwoWithFileAndLine) {
  const std::pair<const char*, const char*> cases[] = {
      {"{\"answers\": [\"1\"]}\n{\"answer\": [\"1\"]}\n", "in.jsonl:2: missing field \"answers\""},
      {"{\"answers\": \"1\"}\n", "in.jsonl:1: field \"answers\" must be a list of strings"},
      {"{\"answers\": [\"1\", 2]}\n", "in.jsonl:1: \"answers\" holds a value that is not a string"},
      {"not json\n", "in.jsonl:1:"},
  };
  for (const auto& [input, message] : cases) {
    std::string dir = temp_dir("cli_cluster_bad");
    write_text(dir + "/in.jsonl", input);
    CommandResult result = run("cluster", dir);
    EXPECT_EQ(result.exit_code, 2) << result.output;
    EXPECT_NE(result.output.find(message), std::string::npos) << result.output;
  }
}

}  // namespace
}  // namespace empo::test
