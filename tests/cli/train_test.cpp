// End to end: `empo train` from a config file, --resume, and bad configs/data -> exit 2.
#include <gtest/gtest.h>

#include <filesystem>

#include "empo/io/jsonl.h"
#include "tiny_policy.h"

namespace empo {

namespace {
std::string write_config(const std::string& dir, const std::string& model, const std::string& data,
                         const std::string& extra = "") {
  std::string path = dir + "/config.yaml";
  test::write_text(path, "model_name_or_path: " + model + "\ntrain_file: " + data +
                             "\noutput_dir: " + dir +
                             "/run\nchat_format: raw\nsystem_prompt: \"\"\n"
                             "question_template: \"{question}\"\nanswer_extraction: hash_dollar\n"
                             "num_generations: 3\nper_device_train_batch_size: 2\n"
                             "max_completion_length: 8\nmax_steps: 2\nsave_steps: 1\n"
                             "reward: token_entropy\ndevice: cpu\n" +
                             extra);
  return path;
}
}  // namespace

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

TEST(TrainCommand, DemoConfigWithOverridesTrains) {
  // The acceptance command: configs/demo.yaml with overrides, on the committed demo model.
  auto dir = test::temp_dir("train_cli");
  auto data = test::addition_questions(dir + "/train.jsonl", 64, 2);
  auto result =
      test::run_empo("train --config " + test::source_path("configs/demo.yaml") +
                     " max_steps=4 save_steps=2 output_dir=" + dir + "/run train_file=" + data +
                     " model_name_or_path=" + test::source_path("models/adder") +
                     " per_device_train_batch_size=4");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(std::filesystem::exists(dir + "/run/checkpoint-4/model.safetensors"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/run/checkpoint-2/model.safetensors"));
}

}  // namespace empo
