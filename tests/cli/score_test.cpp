// End to end: `empo score` against the HF goldens, and bad input -> exit 2.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "empo/io/jsonl.h"
#include "test_support.h"

namespace empo {

TEST(ScoreCommand, MatchesTheGoldenCompletionLogprobs) {
  // pg row 2 of qwen2-tiny has no padding: the last 10 scores are the golden token_logprobs.
  auto dir = test::temp_dir("score");
  auto goldens = io::Json::parse(test::read_text(test::fixture("qwen2-tiny/goldens.json")));
  ASSERT_EQ(goldens["kind"], "qwen2");
  std::string ids = test::read_text(test::fixture("cli/qwen2_pg_row2.json"));
  test::write_text(dir + "/in.jsonl", ids + "\n" + ids + "\n");
  auto result = test::run_empo("score --model " + test::fixture("qwen2-tiny") + " --input " + dir +
                               "/in.jsonl --output " + dir + "/out.jsonl --batch-size 1");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  std::vector<io::Json> lines;
  io::for_each_jsonl(dir + "/out.jsonl",
                     [&](const io::Json& line, long) { lines.push_back(line); });
  ASSERT_EQ(lines.size(), 2u);
  auto input = io::Json::parse(ids);
  auto logprobs = lines[0]["logprobs"].get<std::vector<double>>();
  ASSERT_EQ(logprobs.size(), input["input_ids"].size() - 1);
  auto expected = input["golden_logprobs"].get<std::vector<double>>();
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(logprobs[logprobs.size() - expected.size() + i], expected[i], 1e-4) << i;
  EXPECT_EQ(lines[0], lines[1]);
}

TEST(ScoreCommand, BadInputExitsTwoAndNamesTheLine) {
  auto dir = test::temp_dir("score");
  test::write_text(dir + "/in.jsonl", "{\"input_ids\": [1, 2]}\n{\"input_ids\": [1, 99999]}\n");
  test::write_text(dir + "/out.jsonl", "keep me\n");
  auto result = test::run_empo("score --model " + test::fixture("qwen2-tiny") + " --input " + dir +
                               "/in.jsonl --output " + dir + "/out.jsonl");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("in.jsonl:2:"), std::string::npos) << result.output;
  EXPECT_EQ(test::read_text(dir + "/out.jsonl"), "keep me\n");
}

TEST(ScoreCommand, CorruptCheckpointExitsTwoNamingTheFile) {
  auto dir = test::temp_dir("score");
  auto model = dir + "/model";
  std::filesystem::create_directories(model);
  std::filesystem::copy_file(test::fixture("qwen2-tiny/config.json"), model + "/config.json");
  auto weights = test::read_text(test::fixture("qwen2-tiny/model.safetensors"));
  test::write_text(model + "/model.safetensors", weights.substr(0, weights.size() / 2));
  test::write_text(dir + "/in.jsonl", "{\"input_ids\": [1, 2]}\n");
  auto result = test::run_empo("score --model " + model + " --input " + dir +
                               "/in.jsonl --output " + dir + "/out.jsonl");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("model.safetensors"), std::string::npos) << result.output;
  EXPECT_FALSE(std::filesystem::exists(dir + "/out.jsonl"));

  test::write_text(model + "/config.json", "{\"model_type\": \"gpt2\"}");
  result = test::run_empo("score --model " + model + " --input " + dir + "/in.jsonl --output " +
                          dir + "/out.jsonl");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("gpt2"), std::string::npos) << result.output;
}

}  // namespace empo

namespace empo {

TEST(ScoreCommand, TextLinesUseTheModelsTokenizer) {
  auto dir = test::temp_dir("score");
  auto model = test::source_path("models/adder");
  // "12+3" is four characters, one token each: three scores.
  test::write_text(dir + "/in.jsonl", "{\"text\": \"12+3\"}\n{\"input_ids\": [1, 2, 10, 3]}\n");
  auto result = test::run_empo("score --model " + model + " --input " + dir +
                               "/in.jsonl --output " + dir + "/out.jsonl");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  std::vector<io::Json> lines;
  io::for_each_jsonl(dir + "/out.jsonl",
                     [&](const io::Json& line, long) { lines.push_back(line); });
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["logprobs"].size(), 3u);
  // '1' '2' '+' '3' are ids 1 2 10 3: the same scores (up to batched float rounding).
  for (size_t t = 0; t < 3; ++t)
    EXPECT_NEAR(lines[0]["logprobs"][t].get<double>(), lines[1]["logprobs"][t].get<double>(), 1e-5);
}

}  // namespace empo
