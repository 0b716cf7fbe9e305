// End to end: `empo generate` with ids, text and chat messages; bad input -> exit 2.
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>

#include "empo/io/jsonl.h"
#include "empo/text/chat_template.h"
#include "tiny_policy.h"

namespace empo {
namespace {

// Conversations for the chat template tests: no system turn, a system turn, several turns.
const char* kChatLines =
    "{\"messages\": [{\"role\": \"user\", \"content\": \"What is 2+2?\"}]}\n"
    "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\\nUse digits.\"}, "
    "{\"role\": \"user\", \"content\": \" What is 3*3? \"}]}\n"
    "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", "
    "\"content\": \"Hello!\"}, {\"role\": \"user\", \"content\": \"Name a prime.\"}]}\n";

// `empo generate`'s prompt_ids of each input line (sample 0).
std::vector<std::vector<int64_t>> generated_prompts(const std::string& out) {
  std::vector<std::vector<int64_t>> prompts;
  io::for_each_jsonl(out, [&](const io::Json& line, long) {
    if (line["sample"] == 0) prompts.push_back(line["prompt_ids"].get<std::vector<int64_t>>());
  });
  return prompts;
}

// The same prompts through the library (template rendered, then tokenized).
std::vector<std::vector<int64_t>> library_prompts(const std::string& model,
                                                  const std::string& template_file,
                                                  const nlohmann::json& kwargs) {
  auto tokenizer = text::Tokenizer::load(model);
  auto chat = text::load_chat_template(model, tokenizer, template_file);
  std::vector<std::vector<int64_t>> prompts;
  std::istringstream lines(kChatLines);
  for (std::string line; std::getline(lines, line);) {
    auto ids =
        tokenizer.encode(text::render_chat(chat, io::Json::parse(line)["messages"], true, kwargs));
    prompts.emplace_back(ids.begin(), ids.end());
  }
  return prompts;
}

}  // namespace

// A model folder whose chat_template.jinja is Llama-3.2's (not ChatML; its strftime_now date
// and default system header), and the same folder with Qwen3's template given by
// --chat-template and its thinking switch: the prompt ids empo builds are transformers'
// apply_chat_template(tokenize=True) ids.
TEST(GenerateCommand, MessagesUseTheModelsChatTemplateAsTransformers) {
  auto dir = test::temp_dir("generate_chat_template");
  auto model = test::random_qwen_policy(dir + "/model", 7);
  std::filesystem::copy_file(test::fixture("text/chat_templates/llama-3.2-instruct.jinja"),
                             model + "/chat_template.jinja");
  test::write_text(dir + "/messages.jsonl", kChatLines);
  const std::string qwen3 = test::fixture("text/chat_templates/qwen3.jinja");
  struct Run {
    std::string flags, template_file;
    nlohmann::json kwargs;
  };
  const std::vector<Run> runs = {
      {"", "", nlohmann::json::object()},
      {" --chat-template " + qwen3 + " --chat-template-kwargs '{\"enable_thinking\": false}'",
       qwen3, nlohmann::json{{"enable_thinking", false}}}};
  for (const auto& run : runs) {
    auto result = test::run_empo("generate --model " + model + " --input " + dir +
                                 "/messages.jsonl --output " + dir +
                                 "/out.jsonl --greedy "
                                 "--max-new-tokens 2" +
                                 run.flags);
    ASSERT_EQ(result.exit_code, 0) << result.output;
    const auto prompts = generated_prompts(dir + "/out.jsonl");
    ASSERT_EQ(prompts.size(), 3u);
    EXPECT_EQ(prompts, library_prompts(model, run.template_file, run.kwargs));
    auto tokenizer = text::Tokenizer::load(model);
    const std::string first(
        tokenizer.decode(std::vector<text::TokenId>(prompts[0].begin(), prompts[0].end())));
    if (run.template_file.empty()) {
      EXPECT_NE(first.find("<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: "
                           "December 2023\nToday Date: 26 Jul 2024"),
                std::string::npos)
          << first;
    } else {
      EXPECT_NE(first.find("<|im_start|>assistant\n<think>\n\n</think>\n\n"), std::string::npos)
          << first;
    }
    auto reference =
        test::run_shell("python3 " + test::source_path("tests/cli/chat_prompt_reference.py") + " " +
                        model + " " + dir + "/messages.jsonl " + dir + "/reference.json " +
                        (run.template_file.empty() ? "-" : run.template_file) + " '" +
                        run.kwargs.dump() + "' 2>&1");
    if (reference.exit_code == 77) {
      std::cerr << "transformers is not importable: compared with the library only\n";
      continue;
    }
    ASSERT_EQ(reference.exit_code, 0) << reference.output;
    EXPECT_EQ(prompts, io::Json::parse(test::read_text(dir + "/reference.json"))
                           .get<std::vector<std::vector<int64_t>>>());
  }
  // A template that raises (Gemma's refuses a system turn) is exit 2 naming the line.
  std::filesystem::copy_file(test::fixture("text/chat_templates/gemma-2-it.jinja"),
                             model + "/chat_template.jinja",
                             std::filesystem::copy_options::overwrite_existing);
  auto refused = test::run_empo("generate --model " + model + " --input " + dir +
                                "/messages.jsonl --output " + dir + "/refused.jsonl");
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  EXPECT_NE(refused.output.find("messages.jsonl:2"), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find("System role not supported"), std::string::npos) << refused.output;
}

TEST(GenerateCommand, WritesOneLinePerSample) {
  auto dir = test::temp_dir("generate_cli");
  auto model = test::tiny_policy(dir);
  test::write_text(dir + "/in.jsonl",
                   "{\"prompt_ids\": [1, 2, 3]}\n{\"prompt\": \"12+34=\"}\n"
                   "{\"messages\": [{\"role\": \"user\", \"content\": \"1+1=\"}]}\n");
  auto result =
      test::run_empo("generate --model " + model + " --input " + dir + "/in.jsonl --output " + dir +
                     "/out.jsonl --n 2 --max-new-tokens 5 --seed 3");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("prompt 3/3"), std::string::npos) << result.output;  // progress
  std::vector<io::Json> lines;
  io::for_each_jsonl(dir + "/out.jsonl",
                     [&](const io::Json& line, long) { lines.push_back(line); });
  ASSERT_EQ(lines.size(), 6u);
  for (const auto& line : lines) {
    for (const char* key :
         {"index", "sample", "completion_ids", "completion", "logprobs", "finish_reason"})
      EXPECT_TRUE(line.contains(key)) << key;
    EXPECT_EQ(line["logprobs"].size(), line["completion_ids"].size());
  }
  EXPECT_EQ(lines[5]["index"], 2);
  EXPECT_EQ(lines[5]["sample"], 1);
  // The same seed gives the same samples; greedy gives identical samples.
  auto again =
      test::run_empo("generate --model " + model + " --input " + dir + "/in.jsonl --output " + dir +
                     "/again.jsonl --n 2 --max-new-tokens 5 --seed 3");
  ASSERT_EQ(again.exit_code, 0);
  EXPECT_EQ(test::read_text(dir + "/out.jsonl"), test::read_text(dir + "/again.jsonl"));
}

TEST(GenerateCommand, StopStringsEndCompletions) {
  auto dir = test::temp_dir("generate_cli");
  test::write_text(dir + "/in.jsonl", "{\"prompt\": \"23+45+67+12=\"}\n");
  auto result =
      test::run_empo("generate --model " + test::source_path("models/adder") + " --input " + dir +
                     "/in.jsonl --output " + dir + "/out.jsonl --n 4 --seed 1 --stop ,");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("KV cache"), std::string::npos);
  io::for_each_jsonl(dir + "/out.jsonl", [&](const io::Json& line, long) {
    auto text = line["completion"].get<std::string>();
    // Stops at the first ',' (a reasoning step) or at '$' (the model's EOS, a direct answer).
    EXPECT_TRUE(text.back() == ',' || text.back() == '$') << text;
    if (text.back() == ',') {
      EXPECT_EQ(text.find(','), text.size() - 1) << text;
    }
    EXPECT_EQ(line["finish_reason"], "stop");
  });
}

TEST(GenerateCommand, BadInputExitsTwo) {
  auto dir = test::temp_dir("generate_cli");
  auto model = test::tiny_policy(dir);
  test::write_text(dir + "/in.jsonl", "{\"prompt_ids\": [1]}\n{\"prompt_ids\": [100000]}\n");
  auto result = test::run_empo("generate --model " + model + " --input " + dir +
                               "/in.jsonl --output " + dir + "/out.jsonl");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("in.jsonl:2"), std::string::npos) << result.output;
  result = test::run_empo("generate --model " + model + " --input " + dir + "/in.jsonl --output " +
                          dir + "/out.jsonl --top-p 3");
  EXPECT_EQ(result.exit_code, 2);
  result = test::run_empo("generate --model " + model + " --input " + dir + "/in.jsonl --output " +
                          dir + "/out.jsonl --memory-fraction 2");
  EXPECT_EQ(result.exit_code, 2);
}

// The KV cache gets the trainer's budget: a share of the free memory (--memory-fraction, as
// rollout_memory_fraction). A share too small for one sample is a clear error, not a hang.
TEST(GenerateCommand, KvCacheIsBudgetedFromFreeMemory) {
  auto dir = test::temp_dir("generate_cli");
  auto model = test::tiny_policy(dir);
  test::write_text(dir + "/in.jsonl", "{\"prompt_ids\": [1, 2, 3]}\n");
  auto result = test::run_empo("generate --model " + model + " --input " + dir +
                               "/in.jsonl --output " + dir + "/out.jsonl --memory-fraction 1e-12");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("KV budget"), std::string::npos) << result.output;
  EXPECT_FALSE(std::filesystem::exists(dir + "/out.jsonl"));
  result = test::run_empo("generate --model " + model + " --input " + dir + "/in.jsonl --output " +
                          dir + "/out.jsonl --memory-fraction 0.5 --max-new-tokens 4");
  EXPECT_EQ(result.exit_code, 0) << result.output;
}

}  // namespace empo
