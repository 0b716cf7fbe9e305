// End to end: `empo tokenize` / `empo detokenize` on the Qwen tokenizer and its goldens.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "test_support.h"

namespace empo::test {
namespace {

using Json = nlohmann::json;

std::string shell_quoted(const std::string& path) {
  return "'" + path + "'";
}

TEST(TokenizeCommand, EncodesAndDecodesTheGoldens) {
  std::vector<Json> goldens = read_jsonl(fixture("qwen-tokenizer-goldens.jsonl"));
  ASSERT_FALSE(goldens.empty());
  std::string dir = temp_dir("cli_tokenize");
  std::string texts;
  std::string ids;
  for (const Json& golden : goldens) {
    texts += Json{{"text", golden["text"]}}.dump() + "\n";
    ids += Json{{"ids", golden["ids"]}}.dump() + "\n";
  }
  write_text(dir + "/texts.jsonl", texts);
  write_text(dir + "/ids.jsonl", ids);

  auto encoded = run_empo("tokenize --tokenizer " + shell_quoted(fixture("qwen-tokenizer")) +
                          " --input " + shell_quoted(dir + "/texts.jsonl") + " --output " +
                          shell_quoted(dir + "/out_ids.jsonl"));
  ASSERT_EQ(encoded.exit_code, 0) << encoded.output;
  std::vector<Json> out_ids = read_jsonl(dir + "/out_ids.jsonl");
  ASSERT_EQ(out_ids.size(), goldens.size());
  for (std::size_t i = 0; i < goldens.size(); ++i)
    EXPECT_EQ(out_ids[i]["ids"], goldens[i]["ids"]) << "line " << i + 1;

  // A tokenizer.json path works as well as the folder.
  auto decoded =
      run_empo("detokenize --tokenizer " + shell_quoted(fixture("qwen-tokenizer/tokenizer.json")) +
               " --input " + shell_quoted(dir + "/ids.jsonl") + " --output " +
               shell_quoted(dir + "/out_texts.jsonl"));
  ASSERT_EQ(decoded.exit_code, 0) << decoded.output;
  std::vector<Json> out_texts = read_jsonl(dir + "/out_texts.jsonl");
  ASSERT_EQ(out_texts.size(), goldens.size());
  for (std::size_t i = 0; i < goldens.size(); ++i)
    EXPECT_EQ(out_texts[i]["text"], goldens[i]["decoded"]) << "line " << i + 1;
}

TEST(TokenizeCommand, SkipSpecialTokensAndUnknownIds) {
  std::string dir = temp_dir("cli_detokenize");
  write_text(dir + "/ids.jsonl", "{\"ids\": [151644, 9707, 151900, 151645]}\n");
  auto result =
      run_empo("detokenize --skip-special-tokens --tokenizer " +
               shell_quoted(fixture("qwen-tokenizer")) + " --input " +
               shell_quoted(dir + "/ids.jsonl") + " --output " + shell_quoted(dir + "/out.jsonl"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(read_jsonl(dir + "/out.jsonl").at(0)["text"], "Hello");
}

struct BadInput {
  const char* command;
  const char* contents;
  const char* reason;
};

TEST(TokenizeCommand, BadLinesExitWithCode2AndFileLine) {
  const BadInput cases[] = {
      {"tokenize", "{\"text\": \"fine\"}\n{\"text\": 5}\n", "must be a string"},
      {"tokenize", "{\"text\": \"fine\"}\n{\"prompt\": \"x\"}\n", "missing field \"text\""},
      {"tokenize", "{\"text\": \"fine\"}\n{\"text\": \n", "invalid JSON"},
      {"detokenize", "{\"ids\": [1]}\n{\"ids\": [1, \"two\"]}\n", "not an id"},
      {"detokenize", "{\"ids\": [1]}\n{\"ids\": 7}\n", "must be a list"},
  };
  for (const BadInput& bad : cases) {
    std::string dir = temp_dir("cli_bad");
    write_text(dir + "/in.jsonl", bad.contents);
    auto result =
        run_empo(std::string(bad.command) + " --tokenizer " +
                 shell_quoted(fixture("qwen-tokenizer")) + " --input " +
                 shell_quoted(dir + "/in.jsonl") + " --output " + shell_quoted(dir + "/out.jsonl"));
    EXPECT_EQ(result.exit_code, 2) << result.output;
    EXPECT_NE(result.output.find("in.jsonl:2:"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find(bad.reason), std::string::npos) << result.output;
    EXPECT_FALSE(std::filesystem::exists(dir + "/out.jsonl"));  // nothing half-written
  }
}

TEST(TokenizeCommand, MissingOrBrokenTokenizerExitsWithCode2) {
  std::string dir = temp_dir("cli_no_tokenizer");
  write_text(dir + "/in.jsonl", "{\"text\": \"x\"}\n");
  write_text(dir + "/tokenizer.json", "{\"model\": {\"type\": \"WordPiece\"}}");
  auto missing =
      run_empo("tokenize --tokenizer " + shell_quoted(dir + "/nothing") + " --input " +
               shell_quoted(dir + "/in.jsonl") + " --output " + shell_quoted(dir + "/out.jsonl"));
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  auto broken =
      run_empo("tokenize --tokenizer " + shell_quoted(dir) + " --input " +
               shell_quoted(dir + "/in.jsonl") + " --output " + shell_quoted(dir + "/out.jsonl"));
  EXPECT_EQ(broken.exit_code, 2) << broken.output;
  EXPECT_NE(broken.output.find("tokenizer.json"), std::string::npos) << broken.output;
  EXPECT_NE(broken.output.find("WordPiece"), std::string::npos) << broken.output;
}

}  // namespace
}  // namespace empo::test
