#include "empo/log/report.h"

#include <gtest/gtest.h>

#include "empo/io/error.h"
#include "test_support.h"

namespace empo::log {

namespace {
std::string make_run(const std::string& name, const std::string& reward, double greedy_after) {
  auto dir = test::temp_dir(name);
  io::Json results{
      {"before", {{"greedy_pass1", 0.2}, {"sampled_pass1", 0.3}, {"maj_at_g", 0.6}}},
      {"after", {{"greedy_pass1", greedy_after}, {"sampled_pass1", 0.7}, {"maj_at_g", 0.8}}},
      {"reward", reward},
      {"steps", 60}};
  test::write_text(dir + "/results.json", results.dump());
  test::write_text(dir + "/curve.jsonl",
                   "{\"step\":0,\"greedy_pass1\":0.2,\"sampled_pass1\":0.3,\"maj_at_g\":0.6}\n");
  return dir;
}
}  // namespace

TEST(Report, TablesShowChangesAndMeans) {
  std::vector<RunReport> runs = {read_run(make_run("a", "empo", 0.7)),
                                 read_run(make_run("b", "empo", 0.9)),
                                 read_run(make_run("c", "supervised", 0.95))};
  auto results = results_table(runs);
  EXPECT_NE(results.find("20.0 -> 70.0"), std::string::npos) << results;
  auto summary = summary_table(runs);
  // Mean of 70 and 90 is 80, sample std 14.1.
  EXPECT_NE(summary.find("| empo | 2 | 80.0 ± 14.1"), std::string::npos) << summary;
  EXPECT_NE(summary.find("| supervised | 1 | 95.0 |"), std::string::npos) << summary;
  EXPECT_NE(curve_table(runs[0]).find("| 0 | 20.0 | 30.0 | 60.0 |"), std::string::npos);
}

TEST(Report, MissingResultsIsAnInputError) {
  auto dir = test::temp_dir("empty");
  EXPECT_THROW(read_run(dir), InputError);
  test::write_text(dir + "/results.json", "{\"before\": {}}");
  EXPECT_THROW(read_run(dir), InputError);
}

}  // namespace empo::log
