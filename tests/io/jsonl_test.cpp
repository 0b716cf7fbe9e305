#include "empo/io/jsonl.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "empo/io/error.h"
#include "test_support.h"

namespace empo::io {

TEST(Jsonl, ReadsLinesAndSkipsBlank) {
  auto dir = test::temp_dir("jsonl");
  test::write_text(dir + "/a.jsonl", "{\"x\": 1}\n\n{\"x\": 2}\n");
  std::vector<std::pair<int, long>> seen;
  for_each_jsonl(dir + "/a.jsonl", [&](const Json& value, long line) {
    seen.push_back({value["x"].get<int>(), line});
  });
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1], (std::pair<int, long>{2, 3}));
}

TEST(Jsonl, BadLineNamesFileAndLine) {
  auto dir = test::temp_dir("jsonl");
  test::write_text(dir + "/a.jsonl", "{\"x\": 1}\n{oops\n");
  try {
    for_each_jsonl(dir + "/a.jsonl", [](const Json&, long) {});
    FAIL() << "expected InputError";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("a.jsonl:2:"), std::string::npos) << error.what();
  }
}

// Found by fuzz/model_config_fuzz: nlohmann reports a number past a double's range as
// out_of_range, not parse_error, and it escaped every reader as an internal error.
TEST(Jsonl, NumberPastADoubleIsAnInputErrorWithTheLine) {
  auto dir = test::temp_dir("jsonl");
  test::write_text(dir + "/a.jsonl", "{\"x\": 1}\n{\"x\": 1e400}\n");
  try {
    for_each_jsonl(dir + "/a.jsonl", [](const Json&, long) {});
    FAIL() << "expected InputError";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("a.jsonl:2: invalid JSON"), std::string::npos)
        << error.what();
  }
  EXPECT_THROW(parse_json("[-1e999]", "inline"), InputError);
  EXPECT_EQ(parse_json("[1e300]", "inline")[0].get<double>(), 1e300);
}

TEST(Jsonl, WriterLeavesNothingWithoutCommit) {
  auto dir = test::temp_dir("jsonl");
  test::write_text(dir + "/out.jsonl", "old\n");
  {
    JsonlWriter writer(dir + "/out.jsonl");
    writer.write(Json{{"x", 1}});
  }
  EXPECT_EQ(test::read_text(dir + "/out.jsonl"), "old\n");
  {
    JsonlWriter writer(dir + "/out.jsonl");
    writer.write(Json{{"x", 1}});
    writer.commit();
  }
  EXPECT_EQ(test::read_text(dir + "/out.jsonl"), "{\"x\":1}\n");
  int files = 0;
  for ([[maybe_unused]] auto& entry : std::filesystem::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 1);
}

}  // namespace empo::io
