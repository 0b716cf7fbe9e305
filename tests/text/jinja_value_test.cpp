#include "empo/text/jinja_value.h"

#include <gtest/gtest.h>

namespace empo::text::jinja {
namespace {

TEST(JinjaValue, StrAndReprFollowPython) {
  EXPECT_EQ(Value::none().str(), "None");
  EXPECT_EQ(Value::undefined("x").str(), "");
  EXPECT_EQ(Value(true).str(), "True");
  EXPECT_EQ(Value(3).str(), "3");
  EXPECT_EQ(Value(1.0).str(), "1.0");
  EXPECT_EQ(Value(0.1).str(), "0.1");
  EXPECT_EQ(Value(1e-5).str(), "1e-05");
  EXPECT_EQ(Value(1e16).str(), "1e+16");
  EXPECT_EQ(Value(123456.5).str(), "123456.5");
  EXPECT_EQ(Value("it's").repr(), "\"it's\"");
  EXPECT_EQ(Value("a'\"b\n").repr(), "'a\\'\"b\\n'");
  EXPECT_EQ(Value::list({Value("a"), Value(1)}).str(), "['a', 1]");
  EXPECT_EQ(Value::list({Value("a")}, true).str(), "('a',)");
  auto entries = std::make_shared<Dict>();
  entries->set("k", Value::none());
  EXPECT_EQ(Value::dict(entries).str(), "{'k': None}");
}

TEST(JinjaValue, TruthinessLengthAndEquality) {
  EXPECT_FALSE(Value::undefined().truthy());
  EXPECT_FALSE(Value("").truthy());
  EXPECT_FALSE(Value::list({}).truthy());
  EXPECT_TRUE(Value::namespace_object(std::make_shared<Dict>()).truthy());
  EXPECT_EQ(Value("été").length(), 3);  // code points, as Python counts
  EXPECT_EQ(Value::undefined().length(), 0);
  EXPECT_THROW(Value(3).length(), Error);
  EXPECT_TRUE(equal(Value(1), Value(1.0)));
  EXPECT_TRUE(equal(Value(true), Value(1)));
  EXPECT_FALSE(equal(Value("1"), Value(1)));
  EXPECT_TRUE(equal(Value::undefined(), Value::undefined()));
  EXPECT_FALSE(equal(Value::undefined(), Value::none()));
  EXPECT_TRUE(less(Value("a"), Value("b")));
  EXPECT_THROW(less(Value("a"), Value(1)), Error);
}

TEST(JinjaValue, JsonAsJsonDumps) {
  auto entries = std::make_shared<Dict>();
  entries->set("name", Value("é\"\n"));
  entries->set("n", Value::list({Value(1), Value(2.5), Value(true), Value::none()}));
  const Value value = Value::dict(entries);
  EXPECT_EQ(to_json(value), "{\"name\": \"é\\\"\\n\", \"n\": [1, 2.5, true, null]}");
  JsonFormat indented;
  indented.indent = 2;
  EXPECT_EQ(to_json(value), to_json(value, JsonFormat{}));
  EXPECT_EQ(
      to_json(value, indented),
      "{\n  \"name\": \"é\\\"\\n\",\n  \"n\": [\n    1,\n    2.5,\n    true,\n    null\n  ]\n}");
  EXPECT_THROW(to_json(Value::undefined()), Error);
  EXPECT_EQ(to_json(Value(std::string("\x01"))), "\"\\u0001\"");
}

TEST(JinjaValue, FromJsonAndIteration) {
  Value value = Value::from_json(nlohmann::json::parse(R"({"a": [1, "x"], "b": null})"));
  ASSERT_TRUE(value.is_dict());
  EXPECT_EQ(value.iterate().size(), 2u);  // a dict iterates over its keys
  EXPECT_EQ(value.as_dict().find("a")->as_list()[1].as_string(), "x");
  EXPECT_TRUE(value.as_dict().find("b")->is_none());
  EXPECT_EQ(Value("ab").iterate()[1].as_string(), "b");
  EXPECT_THROW(Value(1).iterate(), Error);
}

}  // namespace
}  // namespace empo::text::jinja
