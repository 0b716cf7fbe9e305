#include "empo/generate/policy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "empo/io/jsonl.h"

#include "empo/io/error.h"
#include "empo/model/logprobs.h"
#include "empo/reward/judge.h"
#include "empo/text/tokenizer_writer.h"
#include "test_support.h"

namespace empo::generate {

namespace {

// qwen2-tiny's HF weights with a character tokenizer that can spell Yes and No.
Policy tiny_policy(const std::string& dir) {
  for (const char* name : {"config.json", "model.safetensors"})
    std::filesystem::copy_file(test::fixture(std::string("qwen2-tiny/") + name), dir + "/" + name);
  text::CharVocabulary vocabulary;
  vocabulary.characters.clear();
  for (char c = 32; c < 127; ++c) vocabulary.characters.push_back(c);  // printable ASCII
  text::write_char_tokenizer(dir, vocabulary);
  return load_policy(dir, {});
}

}  // namespace

TEST(Policy, PromptsFollowTheChatFormatAndLengthLimit) {
  auto policy = tiny_policy(test::temp_dir("policy"));
  data::Question question;
  question.id = "q1";
  question.text = "12+34=";
  PromptSettings settings;
  settings.format = text::ChatFormat::raw;
  auto ids = build_prompt(policy, settings, question);
  EXPECT_EQ(policy.tokenizer.decode(std::vector<text::TokenId>(ids.begin(), ids.end())), "12+34=");
  settings.max_prompt_length = 3;
  try {
    build_prompt(policy, settings, question);
    FAIL();
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("q1"), std::string::npos);
  }
}

TEST(Policy, YesNoScorerReadsOneForwardPassAndDrivesTheJudge) {
  auto policy = tiny_policy(test::temp_dir("policy"));
  auto scorer = yes_no_scorer(policy);
  const std::string prompt = "Is 12 equal to 12?";
  auto [yes, no] = scorer(prompt);
  // The judge's log-probs are the next-token log-probs after the chat-formatted prompt:
  // "Yes" and " Yes" pool the tokens "Y" and " "; "No" and " No" pool "N" and " ".
  auto ids = build_prompt(policy, PromptSettings{}, std::vector<text::Message>{{"user", prompt}});
  auto next = [&](const char* token) {
    auto sequence = ids;
    sequence.push_back(policy.tokenizer.encode(token).at(0));
    return static_cast<double>(model::sequence_logprobs(policy.model, {sequence})[0].back());
  };
  auto pooled = [](double a, double b) { return std::log(std::exp(a) + std::exp(b)); };
  EXPECT_NEAR(yes, pooled(next("Y"), next(" ")), 1e-4);
  EXPECT_NEAR(no, pooled(next("N"), next(" ")), 1e-4);
  // The judge's decision follows the two log-probs.
  reward::Judge judge([&](const std::string& text) {
    auto [y, n] = scorer(text);
    return reward::YesNoLogProbs{y, n};
  });
  auto [judged_yes, judged_no] = scorer(judge.prompt("q", "1", "2"));
  EXPECT_EQ(judge.accepts("q", "1", "2"), judged_yes > judged_no);
  EXPECT_EQ(judge.scorer_calls(), 1);
}

}  // namespace empo::generate

namespace empo::generate {

TEST(Policy, ClusterCommandWithAJudgeFollowsTheJudgesDecisions) {
  auto dir = test::temp_dir("judge_cli");
  auto policy = tiny_policy(dir);
  test::write_text(
      dir + "/in.jsonl",
      "{\"question\": \"Pick a colour\", \"answers\": [\"red\", \"red\", \"blue\"]}\n");
  auto result = test::run_empo("cluster --judge " + dir + " --input " + dir +
                               "/in.jsonl --output " + dir + "/out.jsonl");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  auto line = io::Json::parse(test::read_text(dir + "/out.jsonl"));
  auto ids = line["cluster_ids"].get<std::vector<int>>();
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[0], ids[1]);  // identical answers join without asking
  // "blue" joins "red" exactly when the judge says yes in both directions.
  auto scorer = yes_no_scorer(policy);
  reward::Judge judge([&](const std::string& text) {
    auto [yes, no] = scorer(text);
    return reward::YesNoLogProbs{yes, no};
  });
  EXPECT_EQ(ids[2] == ids[0], judge.equivalent("Pick a colour", "red", "blue"));
}

}  // namespace empo::generate
