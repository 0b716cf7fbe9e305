#include "empo/io/csv.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "empo/io/error.h"
#include "test_support.h"

namespace empo::io {
namespace {

using Fields = std::vector<std::string>;

std::string error_of(const std::string& text) {
  try {
    parse_csv(text, "in.csv");
  } catch (const InputError& error) {
    return error.what();
  }
  ADD_FAILURE() << "no InputError for " << text;
  return "";
}

TEST(Csv, SplitsPlainFieldsAndRecords) {
  auto records = parse_csv("a,b,c\n1,,3\n", "in.csv");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].fields, (Fields{"a", "b", "c"}));
  EXPECT_EQ(records[1].fields, (Fields{"1", "", "3"}));  // an empty field stays a field
  EXPECT_EQ(records[0].line, 1);
  EXPECT_EQ(records[1].line, 2);
}

TEST(Csv, QuotedFieldsHoldCommasQuotesAndLineBreaks) {
  auto records = parse_csv(
      "q,a\n"
      "\"Is it \"\"cough CPR\"\"?\",\"No, it is not\"\n"
      "\"two\nlines\",\"\"\n"
      "last,\"x\r\ny\"",
      "in.csv");
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[1].fields, (Fields{"Is it \"cough CPR\"?", "No, it is not"}));
  EXPECT_EQ(records[2].fields, (Fields{"two\nlines", ""}));
  EXPECT_EQ(records[2].line, 3);
  // The record after a two-line field starts two lines further down.
  EXPECT_EQ(records[3].line, 5);
  EXPECT_EQ(records[3].fields, (Fields{"last", "x\r\ny"}));  // no final line break needed
}

TEST(Csv, CrLfRecordsBlankLinesAndByteOrderMark) {
  auto records = parse_csv("\xEF\xBB\xBFh1,h2\r\n\r\nv1,v2\r\n\n", "in.csv");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].fields, (Fields{"h1", "h2"}));
  EXPECT_EQ(records[1].fields, (Fields{"v1", "v2"}));
  EXPECT_EQ(records[1].line, 3);
  EXPECT_TRUE(parse_csv("", "in.csv").empty());
}

TEST(Csv, TrailingCommaMeansAnEmptyLastField) {
  auto records = parse_csv("a,\n", "in.csv");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].fields, (Fields{"a", ""}));
}

TEST(Csv, MalformedQuotingNamesTheLine) {
  // The unterminated quote is reported where the field opened, not at the end of the file.
  std::string unterminated = error_of("a,b\n1,\"open\nmore\nstill open\n");
  EXPECT_NE(unterminated.find("in.csv:2:"), std::string::npos) << unterminated;
  EXPECT_NE(unterminated.find("unterminated"), std::string::npos) << unterminated;

  std::string after_quote = error_of("a,b\n\"x\"y,2\n");
  EXPECT_NE(after_quote.find("in.csv:2:"), std::string::npos) << after_quote;
  EXPECT_NE(after_quote.find("after a closing quote"), std::string::npos) << after_quote;

  std::string stray = error_of("a,b\n\n1,say \"hi\"\n");
  EXPECT_NE(stray.find("in.csv:3:"), std::string::npos) << stray;
  EXPECT_NE(stray.find("unquoted field"), std::string::npos) << stray;
}

TEST(Csv, ReadsAFileAndNamesAMissingOne) {
  std::string dir = test::temp_dir("csv");
  test::write_text(dir + "/f.csv", "x,y\n\"1,5\",2\n");
  auto records = read_csv(dir + "/f.csv");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].fields, (Fields{"1,5", "2"}));
  EXPECT_THROW(read_csv(dir + "/missing.csv"), InputError);
}

}  // namespace
}  // namespace empo::io
