// What a short real training run leaves for people to read: TensorBoard events that
// TensorBoard's own reader (the `tensorboard` package's EventAccumulator) agrees with
// metrics.jsonl on, scalar by scalar and step by step; and completions.jsonl.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "empo/io/jsonl.h"
#include "short_run.h"

namespace empo {

class RunLogs : public ::testing::Test {
 protected:
  // One run for the whole suite: 3 steps, checkpoints (and eval/* lines) at steps 2 and 3.
  static void SetUpTestSuite() {
    dir_ = new std::string(test::temp_dir("run_logs"));
    run_ = new test::CommandResult(test::short_demo_run(*dir_, 3));
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete run_;
  }
  void SetUp() override { ASSERT_EQ(run_->exit_code, 0) << run_->output; }
  static std::string* dir_;
  static test::CommandResult* run_;
};

std::string* RunLogs::dir_ = nullptr;
test::CommandResult* RunLogs::run_ = nullptr;

TEST_F(RunLogs, TensorBoardReadsEveryScalarOfMetrics) {
  auto read = test::run_shell("python3 " + test::source_path("tests/cli/read_tensorboard.py") +
                              " " + *dir_ + "/run/tensorboard");
  if (read.exit_code == 77) GTEST_SKIP() << "the tensorboard package is not installed";
  ASSERT_EQ(read.exit_code, 0) << read.output;
  const auto scalars = io::Json::parse(read.output);
  // (tag, step) -> the value TensorBoard read.
  std::map<std::pair<std::string, long>, double> events;
  for (const auto& [tag, points] : scalars.items())
    for (const auto& point : points) {
      const auto key = std::make_pair(tag, point[0].get<long>());
      EXPECT_EQ(events.count(key), 0u) << tag << " twice at step " << key.second;
      events[key] = point[1].get<double>();
    }
  size_t compared = 0;
  std::set<long> eval_steps;
  for (const auto& line : test::read_jsonl(*dir_ + "/run/metrics.jsonl")) {
    const long step = line["step"].get<long>();
    for (const auto& [key, value] : line.items()) {
      if (key == "step" || !value.is_number()) continue;
      auto found = events.find({key, step});
      ASSERT_NE(found, events.end()) << key << " at step " << step << " missing in TensorBoard";
      // TensorBoard keeps scalars as float32 (simple_value).
      EXPECT_EQ(found->second, static_cast<double>(value.get<float>()))
          << key << " at step " << step;
      events.erase(found);
      ++compared;
      if (key.rfind("eval/", 0) == 0) eval_steps.insert(step);
    }
  }
  EXPECT_TRUE(events.empty()) << events.size() << " scalars in TensorBoard, not in metrics.jsonl";
  EXPECT_EQ(eval_steps, (std::set<long>{2, 3}));
  EXPECT_GT(compared, 3u * 20u);  // 3 training steps of 20+ metrics each, plus eval lines
}

TEST_F(RunLogs, CompletionsLogHoldsWhatEachSampleEarned) {
  const auto lines = test::read_jsonl(*dir_ + "/run/completions.jsonl");
  // logging_steps 1, num_completions_to_print 4 (the default) of 4 questions a step.
  ASSERT_EQ(lines.size(), 3u * 4u);
  const size_t G = 8;  // configs/demo.yaml
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto& line = lines[i];
    EXPECT_EQ(line["step"], static_cast<long>(i / 4 + 1));
    EXPECT_FALSE(line["question"].get<std::string>().empty());
    ASSERT_EQ(line["completions"].size(), G);
    ASSERT_EQ(line["answers"].size(), G);
    ASSERT_EQ(line["cluster_ids"].size(), G);
    ASSERT_EQ(line["rewards"].size(), G);
    ASSERT_EQ(line["advantages"].size(), G);
    ASSERT_EQ(line["correct"].size(), G);
    ASSERT_EQ(line["label"].size(), 1u);  // the addition questions carry their answer
    // exact equivalence: equal answers share a cluster, and the empo reward is its share.
    std::map<int, size_t> sizes;
    for (const auto& id : line["cluster_ids"]) ++sizes[id.get<int>()];
    double mean = 0;
    for (size_t j = 0; j < G; ++j) {
      const auto answer = line["answers"][j].get<std::string>();
      EXPECT_NE(line["completions"][j].get<std::string>().find(answer), std::string::npos);
      for (size_t k = 0; k < G; ++k)
        if (!answer.empty() && answer == line["answers"][k].get<std::string>()) {
          EXPECT_EQ(line["cluster_ids"][j], line["cluster_ids"][k]);
        }
      const double share =
          answer.empty() ? 0.0 : sizes[line["cluster_ids"][j].get<int>()] / static_cast<double>(G);
      EXPECT_NEAR(line["rewards"][j].get<double>(), share, 1e-12);
      EXPECT_EQ(line["correct"][j].get<bool>(), answer == line["label"][0].get<std::string>());
      mean += share / G;
    }
    // Group-normalised advantages (scale_rewards: group): (r - mean) / (std + 1e-4).
    double variance = 0;
    for (size_t j = 0; j < G; ++j)
      variance += std::pow(line["rewards"][j].get<double>() - mean, 2) / (G - 1);
    for (size_t j = 0; j < G; ++j)
      EXPECT_NEAR(line["advantages"][j].get<double>(),
                  (line["rewards"][j].get<double>() - mean) / (std::sqrt(variance) + 1e-4), 1e-6)
          << "question " << i << " sample " << j;
  }
}

}  // namespace empo
