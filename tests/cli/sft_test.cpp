// End to end: `empo init-model` then `empo sft` on a tiny config, and the exit code 2 paths.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "test_support.h"

namespace empo::test {
namespace {

using Json = nlohmann::json;

const char* kTinyModel = "--hidden 32 --layers 1 --heads 2 --kv-heads 2 --intermediate 64";

std::string shell_quoted(const std::string& path) {
  return "'" + path + "'";
}

std::string init_tiny(const std::string& dir) {
  std::string model = dir + "/init";
  auto result =
      run_empo("init-model --output " + shell_quoted(model) + " " + kTinyModel + " --seed 1");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  return model;
}

TEST(SftCommand, InitModelWritesAQwen2FolderWithTheCharTokenizer) {
  std::string dir = temp_dir("cli_init_model");
  std::string model = init_tiny(dir);
  for (const char* name : {"config.json", "model.safetensors", "tokenizer.json",
                           "tokenizer_config.json", "generation_config.json"})
    EXPECT_TRUE(std::filesystem::exists(model + "/" + name)) << name;
  Json config = Json::parse(read_text(model + "/config.json"));
  EXPECT_EQ(config["model_type"], "qwen2");
  EXPECT_EQ(config["hidden_size"], 32);
  EXPECT_EQ(config["num_hidden_layers"], 1);
  EXPECT_EQ(config["vocab_size"], 16);
  EXPECT_EQ(config["tie_word_embeddings"], true);
  EXPECT_EQ(config["eos_token_id"], 14);
  EXPECT_EQ(config["max_position_embeddings"], 128);

  // The tokenizer works through the CLI as well.
  write_text(dir + "/texts.jsonl", "{\"text\": \"12+34=#46$\"}\n");
  auto tokenized = run_empo("tokenize --tokenizer " + shell_quoted(model) + " --input " +
                            shell_quoted(dir + "/texts.jsonl") + " --output " +
                            shell_quoted(dir + "/ids.jsonl"));
  ASSERT_EQ(tokenized.exit_code, 0) << tokenized.output;
  EXPECT_EQ(Json::parse(read_text(dir + "/ids.jsonl"))["ids"],
            Json({1, 2, 10, 3, 4, 11, 13, 4, 6, 14}));

  // Same seed, same bytes.
  auto again = run_empo("init-model --output " + shell_quoted(dir + "/again") + " " + kTinyModel +
                        " --seed 1");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(read_text(dir + "/again/model.safetensors"), read_text(model + "/model.safetensors"));
}

TEST(SftCommand, AdditionTaskTrainsSavesAndEvaluates) {
  std::string dir = temp_dir("cli_sft_addition");
  std::string model = init_tiny(dir);
  auto result =
      run_empo("sft --model " + shell_quoted(model) + " --output " + shell_quoted(dir + "/out") +
               " --task addition --steps 3 --batch-size 4 --warmup-steps 1 --log-every 2"
               " --direct-fraction 0.5 --eval-questions 3 --eval-samples 2 --threads 1");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("step     2/3"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("step     3/3"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("maj@2"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("3 test questions"), std::string::npos) << result.output;
  for (const char* name : {"config.json", "model.safetensors", "tokenizer.json",
                           "tokenizer_config.json", "generation_config.json"})
    EXPECT_TRUE(std::filesystem::exists(dir + "/out/" + name)) << name;
  EXPECT_NE(read_text(dir + "/out/model.safetensors"), read_text(model + "/model.safetensors"));
  EXPECT_EQ(read_text(dir + "/out/tokenizer.json"), read_text(model + "/tokenizer.json"));

  // The trained folder is a valid input again, and runs are reproducible.
  auto again =
      run_empo("sft --model " + shell_quoted(model) + " --output " + shell_quoted(dir + "/again") +
               " --task addition --steps 3 --batch-size 4 --warmup-steps 1"
               " --direct-fraction 0.5 --eval-questions 0 --threads 1");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(read_text(dir + "/again/model.safetensors"), read_text(dir + "/out/model.safetensors"));
  auto chained = run_empo("sft --model " + shell_quoted(dir + "/out") + " --output " +
                          shell_quoted(dir + "/out2") +
                          " --task addition --steps 1 --batch-size 2 --eval-questions 0");
  EXPECT_EQ(chained.exit_code, 0) << chained.output;
}

TEST(SftCommand, JsonlDataTrains) {
  std::string dir = temp_dir("cli_sft_data");
  std::string model = init_tiny(dir);
  write_text(dir + "/data.jsonl",
             "{\"prompt\": \"1+2=\", \"completion\": \"#3$\"}\n"
             "{\"prompt\": \"2+2=\", \"completion\": \"#4\"}\n");
  auto result =
      run_empo("sft --model " + shell_quoted(model) + " --output " + shell_quoted(dir + "/out") +
               " --data " + shell_quoted(dir + "/data.jsonl") + " --steps 3 --batch-size 2");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("read 2 examples"), std::string::npos) << result.output;
  EXPECT_TRUE(std::filesystem::exists(dir + "/out/model.safetensors"));
}

TEST(SftCommand, BadInputExitsTwoAndWritesNothing) {
  std::string dir = temp_dir("cli_sft_bad");
  std::string model = init_tiny(dir);
  std::string out = dir + "/out";
  std::string base = "sft --model " + shell_quoted(model) + " --output " + shell_quoted(out) + " ";
  write_text(dir + "/bad.jsonl",
             "{\"prompt\": \"1+2=\", \"completion\": \"#3$\"}\n{\"prompt\": \"1+2=\"}\n");
  write_text(dir + "/foreign.jsonl", "{\"prompt\": \"hello\", \"completion\": \"#3$\"}\n");
  struct Case {
    std::string arguments;
    std::string message;
  };
  std::vector<Case> cases = {
      {base + "--task addition --steps 0", "--steps"},
      {base + "--task addition --lr -1", "--lr"},
      {base + "--task addition --direct-fraction 2", "--direct-fraction"},
      {base + "--task subtraction", "addition"},
      {base, "exactly one of"},
      {base + "--task addition --data " + shell_quoted(dir + "/bad.jsonl"), "exactly one of"},
      {base + "--data " + shell_quoted(dir + "/bad.jsonl"), "bad.jsonl:2"},
      {base + "--data " + shell_quoted(dir + "/foreign.jsonl"), "foreign.jsonl:1"},
      {base + "--data " + shell_quoted(dir + "/missing.jsonl"), "missing.jsonl"},
      {base + "--task addition --lr-scheduler sometimes", "--lr-scheduler"},
      {"sft --model " + shell_quoted(dir + "/nowhere") + " --output " + shell_quoted(out) +
           " --task addition",
       "config.json"},
      {base + "--task addition --steps two", "--steps"},
      {"init-model --output " + shell_quoted(out) + " --hidden 30 --heads 4", "--heads"},
      {"init-model --output " + shell_quoted(out) + " --vocab 0123", "eos"},
      {"init-model --output " + shell_quoted(out) + " --vocab '01$1'", "twice"},
      {"init-model --output " + shell_quoted(out) + " --eos ab", "--eos"},
  };
  for (const auto& test_case : cases) {
    auto result = run_empo(test_case.arguments);
    EXPECT_EQ(result.exit_code, 2) << test_case.arguments << "\n" << result.output;
    EXPECT_NE(result.output.find(test_case.message), std::string::npos)
        << test_case.arguments << "\n"
        << result.output;
    EXPECT_FALSE(std::filesystem::exists(out)) << test_case.arguments;
  }
}

}  // namespace
}  // namespace empo::test
