// End to end: a LoRA run trains only adapters, checkpoints PEFT folders, resumes bit for bit,
// merges into a plain model, and generate/score apply the adapter unmerged.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "empo/io/jsonl.h"
#include "empo/io/safetensors.h"
#include "tiny_policy.h"

namespace empo {

namespace fs = std::filesystem;
using test::write_config;

namespace {

const char kLoraKeys[] =
    "lora_r: 4\nlora_alpha: 8\nlora_dropout: 0.1\nlora_target_modules: [all-linear]\n"
    "beta: 0.04\nlearning_rate: 0.01\n";

// Every tensor of a safetensors file as its raw bytes (this test binary is torch-free).
std::map<std::string, std::string> tensors(const std::string& path) {
  auto file = io::SafetensorsFile::open(path);
  std::map<std::string, std::string> bytes;
  for (const auto& info : file->tensors())
    bytes[info.name].assign(reinterpret_cast<const char*>(file->data(info)), info.end - info.begin);
  return bytes;
}

}  // namespace

TEST(LoraCommand, TrainsCheckpointsResumesMergesAndGenerates) {
  auto dir = test::temp_dir("lora_cli");
  auto model = test::tiny_policy(dir);
  auto data = test::addition_questions(dir + "/train.jsonl", 8, 1);
  auto config = write_config(dir, model, data, std::string(kLoraKeys) + "max_steps: 3\n");

  // Uninterrupted: 3 steps.
  auto result = test::run_empo("train --config " + config + " output_dir=" + dir + "/straight");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const std::string last = dir + "/straight/checkpoint-3";
  EXPECT_TRUE(fs::exists(last + "/adapter_config.json"));
  EXPECT_TRUE(fs::exists(last + "/tokenizer.json"));
  EXPECT_FALSE(fs::exists(last + "/model.safetensors"));  // the base is not copied
  auto adapter = tensors(last + "/adapter_model.safetensors");
  ASSERT_EQ(adapter.size(), 2u * 7 * 2);  // A and B of 7 modules in 2 layers
  // Only the adapters train: B left zero, and the optimizer state covers them alone.
  size_t nonzero_b = 0;
  for (const auto& [name, bytes] : adapter)
    if (name.find("lora_B") != std::string::npos)
      nonzero_b += std::count_if(bytes.begin(), bytes.end(), [](char c) { return c != 0; });
  EXPECT_GT(nonzero_b, 0u);
  size_t moments = 0;
  for (const auto& [name, bytes] : tensors(last + "/optimizer.safetensors"))
    moments += name.rfind("exp_avg.", 0) == 0;
  EXPECT_EQ(moments, adapter.size());

  // 2 steps, then resumed to 3: the same adapter bit for bit (dropout masks included).
  result =
      test::run_empo("train --config " + config + " output_dir=" + dir + "/resumed max_steps=2");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  result = test::run_empo("train --resume " + dir + "/resumed max_steps=3");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  auto resumed = tensors(dir + "/resumed/checkpoint-3/adapter_model.safetensors");
  for (const auto& [name, bytes] : adapter) EXPECT_TRUE(bytes == resumed.at(name)) << name;
  // An adapter cannot change shape mid-run.
  result = test::run_empo("train --resume " + dir + "/resumed max_steps=4 lora_r=8");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("adapter_config.json"), std::string::npos) << result.output;

  // Merged folder: a plain model that generates what base + adapter generates.
  result = test::run_empo("merge --base " + model + " --adapter " + last + " --output " + dir +
                          "/merged");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(fs::exists(dir + "/merged/model.safetensors"));
  EXPECT_TRUE(fs::exists(dir + "/merged/tokenizer.json"));
  EXPECT_FALSE(fs::exists(dir + "/merged/adapter_config.json"));
  test::write_text(dir + "/prompts.jsonl", "{\"prompt\": \"12+34=\"}\n{\"prompt\": \"7+8=\"}\n");
  auto generate = [&](const std::string& flags, const std::string& out) {
    auto run =
        test::run_empo("generate " + flags + " --input " + dir +
                       "/prompts.jsonl --greedy --max-new-tokens 8 --device cpu --output " + out);
    EXPECT_EQ(run.exit_code, 0) << run.output;
    std::vector<std::vector<int64_t>> ids;
    for (const auto& line : test::read_jsonl(out))
      ids.push_back(line["completion_ids"].get<std::vector<int64_t>>());
    return ids;
  };
  auto with_adapter = generate("--model " + model + " --adapter " + last, dir + "/adapter.jsonl");
  auto merged = generate("--model " + dir + "/merged", dir + "/merged.jsonl");
  ASSERT_EQ(with_adapter.size(), 2u);
  EXPECT_EQ(with_adapter, merged);

  // score: the adapter's log-probs are the merged model's.
  test::write_text(dir + "/texts.jsonl", "{\"text\": \"12+34=46$\"}\n");
  auto score = [&](const std::string& flags) {
    auto run = test::run_empo("score " + flags + " --input " + dir +
                              "/texts.jsonl --device cpu --output " + dir + "/score.jsonl");
    EXPECT_EQ(run.exit_code, 0) << run.output;
    return test::read_jsonl(dir + "/score.jsonl")[0]["logprobs"].get<std::vector<double>>();
  };
  auto adapted = score("--model " + model + " --adapter " + last);
  auto folded = score("--model " + dir + "/merged");
  auto plain = score("--model " + model);
  ASSERT_EQ(adapted.size(), folded.size());
  double difference_to_base = 0;
  for (size_t i = 0; i < adapted.size(); ++i) {
    EXPECT_NEAR(adapted[i], folded[i], 1e-4) << i;
    difference_to_base += std::abs(adapted[i] - plain[i]);
  }
  EXPECT_GT(difference_to_base, 1e-4);  // the adapter changed the model
}

TEST(LoraCommand, BadAdapterAndConfigExitTwo) {
  auto dir = test::temp_dir("lora_cli_bad");
  auto model = test::tiny_policy(dir);
  auto data = test::addition_questions(dir + "/train.jsonl", 4, 1);
  auto config =
      write_config(dir, model, data, "lora_r: 2\nlora_target_modules: [q_proj, c_attn]\n");
  auto result = test::run_empo("train --config " + config);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("config.yaml"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("c_attn"), std::string::npos) << result.output;

  // An adapter whose config names a module the model lacks.
  fs::create_directories(dir + "/adapter");
  test::write_text(dir + "/adapter/adapter_config.json",
                   "{\"peft_type\": \"LORA\", \"r\": 2, \"lora_alpha\": 4, "
                   "\"target_modules\": [\"c_attn\"]}");
  test::write_text(dir + "/prompts.jsonl", "{\"prompt\": \"1+1=\"}\n");
  result = test::run_empo("generate --model " + model + " --adapter " + dir + "/adapter --input " +
                          dir + "/prompts.jsonl --output " + dir + "/out.jsonl --device cpu");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("adapter_config.json"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("c_attn"), std::string::npos) << result.output;
  result = test::run_empo("merge --base " + model + " --adapter " + dir + "/adapter --output " +
                          dir + "/merged");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_FALSE(fs::exists(dir + "/merged"));
}

}  // namespace empo
