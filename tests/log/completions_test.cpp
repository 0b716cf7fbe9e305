#include "empo/log/completions.h"

#include <gtest/gtest.h>

#include "empo/io/error.h"
#include "test_support.h"

namespace empo::log {

namespace {
QuestionCompletions sample_entry(long step) {
  QuestionCompletions entry;
  entry.step = step;
  entry.question = "12+13=";
  entry.completions = {"#25$", "#25$", "#26$", "no idea"};
  entry.answers = {"25", "25", "26", ""};
  entry.cluster_ids = {0, 0, 1, 2};
  entry.rewards = {0.5, 0.5, 0.25, 0.0};
  entry.advantages = {0.87, 0.87, -0.29, -1.44};
  return entry;
}
}  // namespace

TEST(CompletionsLog, WritesOneLinePerQuestionWithLabelOnlyWhenKnown) {
  auto dir = test::temp_dir("completions");
  CompletionsLog log(dir + "/completions.jsonl");
  auto unlabeled = sample_entry(1);
  log.write(unlabeled);
  auto labeled = sample_entry(2);
  labeled.label = {"25"};
  labeled.correct = {true, true, false, false};
  log.write(labeled);
  auto lines = test::read_jsonl(log.path());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["step"], 1);
  EXPECT_EQ(lines[0]["question"], "12+13=");
  EXPECT_EQ(lines[0]["completions"][3], "no idea");
  EXPECT_EQ(lines[0]["answers"][2], "26");
  EXPECT_EQ(lines[0]["cluster_ids"], io::Json({0, 0, 1, 2}));
  EXPECT_DOUBLE_EQ(lines[0]["rewards"][2].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(lines[0]["advantages"][3].get<double>(), -1.44);
  EXPECT_FALSE(lines[0].contains("label"));
  EXPECT_FALSE(lines[0].contains("correct"));
  EXPECT_EQ(lines[1]["label"], io::Json({"25"}));
  EXPECT_EQ(lines[1]["correct"], io::Json({true, true, false, false}));
  // And back: the report reads what the trainer wrote.
  auto again = completions_from_json(lines[1], "completions.jsonl:2");
  EXPECT_EQ(again.answers, labeled.answers);
  EXPECT_EQ(again.cluster_ids, labeled.cluster_ids);
  EXPECT_EQ(again.label, labeled.label);
  EXPECT_EQ(again.correct, labeled.correct);
}

TEST(CompletionsLog, MismatchedLengthsAreErrors) {
  auto dir = test::temp_dir("completions");
  CompletionsLog log(dir + "/completions.jsonl");
  auto entry = sample_entry(1);
  entry.rewards.pop_back();
  try {
    log.write(entry);
    ADD_FAILURE() << "a short rewards vector was written";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("\"rewards\" has 3 entries"), std::string::npos)
        << error.what();
  }
  EXPECT_THROW(completions_from_json(io::Json{{"step", 1}}, "x.jsonl:1"), InputError);
}

TEST(CompletionsLog, ReadsRunningFilesAndTruncatesOnResume) {
  auto dir = test::temp_dir("completions");
  const std::string path = dir + "/log.jsonl";
  // A writer mid-line: the unfinished last line is not an error, only not there yet.
  test::write_text(path, "{\"step\":1}\n\n{\"step\":2}\n{\"step\":3}\n{\"step\":4,\"quest");
  auto lines = read_complete_jsonl(path);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[2]["step"], 3);
  CompletionsLog(path).keep_through(2);  // resuming at step 2
  EXPECT_EQ(test::read_text(path), "{\"step\":1}\n{\"step\":2}\n");
  test::write_text(path, "{\"step\":1}\nnot json\n");
  try {
    read_complete_jsonl(path);
    ADD_FAILURE() << "invalid JSON accepted";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("log.jsonl:2"), std::string::npos) << error.what();
  }
  EXPECT_TRUE(read_complete_jsonl(dir + "/missing.jsonl").empty());
}

}  // namespace empo::log
