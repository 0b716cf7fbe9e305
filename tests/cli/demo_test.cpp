// End to end on the committed demo model: a short `empo demo`, the supervised baseline, and
// the collapse guard's stop rule firing on a constructed collapse.
#include <gtest/gtest.h>

#include <filesystem>

#include "empo/io/jsonl.h"
#include "tiny_policy.h"

namespace empo {

namespace {
io::Json read_results(const std::string& dir) {
  return io::Json::parse(test::read_text(dir + "/results.json"));
}
}  // namespace

TEST(DemoCommand, ShortRunWritesBeforeAndAfter) {
  auto dir = test::temp_dir("demo_cli");
  for (const char* reward : {"empo", "supervised"}) {
    std::string run = dir + "/" + reward;
    auto result = test::run_empo(std::string("demo --steps 2 --eval-questions 16 --output-dir ") +
                                 run + " --reward " + reward + " per_device_train_batch_size=4");
    ASSERT_EQ(result.exit_code, 0) << result.output;
    EXPECT_NE(result.output.find("greedy pass@1"), std::string::npos) << result.output;
    auto results = read_results(run);
    for (const char* phase : {"before", "after"})
      for (const char* key : {"greedy_pass1", "sampled_pass1", "maj_at_g"}) {
        double value = results[phase][key].get<double>();
        EXPECT_GE(value, 0.0);
        EXPECT_LE(value, 1.0);
      }
    EXPECT_EQ(results["reward"], reward);
    EXPECT_TRUE(std::filesystem::exists(run + "/metrics.jsonl"));
    // The demo ends by pointing at its report.
    EXPECT_NE(result.output.find("report: " + run + "/report.html"), std::string::npos)
        << result.output;
    EXPECT_NE(test::read_text(run + "/report.html").find("held-out greedy pass@1"),
              std::string::npos);
  }
  // The supervised baseline reads labels; EMPO's metrics carry them only as monitoring.
  EXPECT_EQ(read_results(dir + "/empo")["before"], read_results(dir + "/supervised")["before"]);
}

TEST(DemoCommand, CollapseGuardStopsAConstructedCollapse) {
  // temperature=0 makes every group of G samples identical: semantic entropy 0 and reward 1,
  // the signature of a collapsed policy. The stop rule must end training after `patience`.
  auto dir = test::temp_dir("demo_cli");
  auto data = test::addition_questions(dir + "/train.jsonl", 64, 4);
  auto result =
      test::run_empo("train --config " + test::source_path("configs/demo.yaml") +
                     " model_name_or_path=" + test::source_path("models/adder") +
                     " train_file=" + data + " output_dir=" + dir +
                     "/run temperature=0 guard_stop_rule=true guard_patience=2 max_steps=10"
                     " per_device_train_batch_size=4");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("stopped by the collapse guard"), std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("trained 2 steps"), std::string::npos) << result.output;
}

}  // namespace empo
