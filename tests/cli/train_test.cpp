// End to end: `empo train` from a config file, --resume, and bad configs/data -> exit 2.
#include <gtest/gtest.h>

#include <filesystem>

#include <cmath>
#include <map>

#include "empo/io/jsonl.h"
#include "empo/io/safetensors.h"
#include "tiny_policy.h"

namespace empo {

using test::write_config;

TEST(TrainCommand, TrainsResumesAndWritesCheckpoints) {
  auto dir = test::temp_dir("train_cli");
  auto model = test::tiny_policy(dir);
  auto data = test::addition_questions(dir + "/train.jsonl", 8, 1);
  auto config = write_config(dir, model, data);
  auto result = test::run_empo("train --config " + config + " learning_rate=0.01");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(std::filesystem::exists(dir + "/run/checkpoint-2/model.safetensors"))
      << result.output;
  EXPECT_NE(test::read_text(dir + "/run/config.yaml").find("learning_rate: 0.01"),
            std::string::npos);
  result = test::run_empo("train --resume " + dir + "/run max_steps=3");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(std::filesystem::exists(dir + "/run/checkpoint-3/trainer_state.json"));
  int lines = 0;
  io::for_each_jsonl(dir + "/run/metrics.jsonl", [&](const io::Json&, long) { ++lines; });
  EXPECT_EQ(lines, 3);
  // completions.jsonl continues as well: both questions of every step, none twice.
  std::vector<long> steps;
  for (const auto& line : test::read_jsonl(dir + "/run/completions.jsonl"))
    steps.push_back(line["step"].get<long>());
  EXPECT_EQ(steps, (std::vector<long>{1, 1, 2, 2, 3, 3}));
}

TEST(TrainCommand, BadConfigAndDataExitTwoWithLocation) {
  auto dir = test::temp_dir("train_cli");
  auto model = test::tiny_policy(dir);
  auto data = test::addition_questions(dir + "/train.jsonl", 4, 1);
  auto config = write_config(dir, model, data, "temprature: 0.5\n");
  auto result = test::run_empo("train --config " + config);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("config.yaml:15"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("temprature"), std::string::npos) << result.output;

  config = write_config(dir, model, data);
  result = test::run_empo("train --config " + config + " temperature=-1");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("temperature"), std::string::npos) << result.output;

  test::write_text(dir + "/bad.jsonl", "{\"question\": \"12+13=\"}\n{\"nothing\": 1}\n");
  config = write_config(dir, model, dir + "/bad.jsonl");
  result = test::run_empo("train --config " + config);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("bad.jsonl:2"), std::string::npos) << result.output;
  EXPECT_FALSE(std::filesystem::exists(dir + "/run/checkpoint-1"));
}

namespace {
// The float32 values of every tensor of a safetensors file, by name.
std::map<std::string, std::vector<float>> read_weights(const std::string& path) {
  auto file = io::SafetensorsFile::open(path);
  std::map<std::string, std::vector<float>> weights;
  for (const auto& info : file->tensors()) {
    const float* values = reinterpret_cast<const float*>(file->data(info));
    weights[info.name].assign(values, values + info.numel());
  }
  return weights;
}
}  // namespace

TEST(TrainCommand, TwoProcessesTrainLikeOne) {
  // Data parallel over torch c10d (Gloo): 2 ranks x 1 question = 1 rank x 2 questions. The
  // questions, their sampling streams and the loss normalisers are global, so only the order
  // of floating-point sums differs.
  auto dir = test::temp_dir("train_cli");
  auto model = test::tiny_policy(dir);
  auto data = test::addition_questions(dir + "/train.jsonl", 8, 1);
  auto config = write_config(dir, model, data);
  auto single = test::run_empo("train --config " + config + " output_dir=" + dir +
                               "/single learning_rate=0.001");
  ASSERT_EQ(single.exit_code, 0) << single.output;
  auto pair = test::run_empo("train --nproc 2 --config " + config + " output_dir=" + dir +
                             "/pair per_device_train_batch_size=1 learning_rate=0.001");
  ASSERT_EQ(pair.exit_code, 0) << pair.output;
  // The reduced gradient (its norm), the loss and the rollout statistics agree step by step.
  std::vector<io::Json> single_metrics, pair_metrics;
  io::for_each_jsonl(dir + "/single/metrics.jsonl",
                     [&](const io::Json& line, long) { single_metrics.push_back(line); });
  io::for_each_jsonl(dir + "/pair/metrics.jsonl",
                     [&](const io::Json& line, long) { pair_metrics.push_back(line); });
  ASSERT_EQ(single_metrics.size(), pair_metrics.size());
  for (size_t step = 0; step < single_metrics.size(); ++step)
    for (const char* key :
         {"reward", "grad_norm", "loss", "entropy", "completions/mean_length", "train_samples"}) {
      double a = single_metrics[step][key].get<double>(), b = pair_metrics[step][key].get<double>();
      EXPECT_NEAR(a, b, 1e-4 * std::max(1.0, std::abs(a))) << key << " at step " << step + 1;
    }
  EXPECT_GT(single_metrics[0]["grad_norm"].get<double>(), 0.0);
  auto one = read_weights(dir + "/single/checkpoint-2/model.safetensors");
  auto two = read_weights(dir + "/pair/checkpoint-2/model.safetensors");
  auto start = read_weights(model + "/model.safetensors");
  // Adam divides by sqrt(v): on the few parameters whose gradient is ~0 the rounding of the
  // all-reduce can flip a step of size lr, so compare the weights on average.
  double total_change = 0, total_difference = 0;
  for (const auto& [name, values] : one)
    for (size_t i = 0; i < values.size(); ++i) {
      total_change += std::abs(values[i] - start[name][i]);
      total_difference += std::abs(values[i] - two[name][i]);
    }
  EXPECT_GT(total_change, 0.0);  // training moved the weights, and both runs alike
  EXPECT_LT(total_difference, 0.01 * total_change);
  // Rank 0 alone writes metrics: one line per step, like the single process.
  int lines = 0;
  io::for_each_jsonl(dir + "/pair/metrics.jsonl", [&](const io::Json&, long) { ++lines; });
  EXPECT_EQ(lines, 2);
}

TEST(TrainCommand, AFailingRankStopsTheOthers) {
  auto dir = test::temp_dir("train_cli");
  auto model = test::tiny_policy(dir);
  test::write_text(dir + "/bad.jsonl", "{\"question\": \"12+13=\"}\n{\"nothing\": 1}\n");
  auto config = write_config(dir, model, dir + "/bad.jsonl");
  auto result = test::run_empo("train --nproc 2 --config " + config);
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("bad.jsonl:2"), std::string::npos) << result.output;
}

TEST(TrainCommand, DemoConfigWithOverridesTrains) {
  // The acceptance command, verbatim, from the repository root: configs/demo.yaml names the
  // committed demo model and unlabeled questions by relative paths.
  auto dir = test::temp_dir("train_cli");
  auto result = test::run_empo_in(
      test::source_path(""),
      "train --config configs/demo.yaml max_steps=4 save_steps=2 output_dir=" + dir + "/run");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(std::filesystem::exists(dir + "/run/checkpoint-4/model.safetensors"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/run/checkpoint-2/model.safetensors"));
}

}  // namespace empo
