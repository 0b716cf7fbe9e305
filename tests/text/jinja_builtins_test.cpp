#include "empo/text/jinja_builtins.h"

#include <gtest/gtest.h>

namespace empo::text::jinja {
namespace {

Value call_method(const Value& object, const std::string& name, std::vector<Value> positional) {
  Arguments arguments;
  arguments.positional = std::move(positional);
  return get_attribute(object, name).call(arguments);
}

Value filter(const std::string& name, const Value& value, std::vector<Value> positional = {}) {
  Arguments arguments;
  arguments.positional = std::move(positional);
  return apply_filter(name, value, arguments);
}

std::vector<std::string> strings(const Value& list) {
  std::vector<std::string> out;
  for (const Value& item : list.as_list()) out.push_back(item.as_string());
  return out;
}

TEST(JinjaBuiltins, StringMethodsAsPython) {
  const Value text("  <think>\nhi\n</think>\n\nanswer ");
  EXPECT_EQ(call_method(text, "strip", {}).as_string(), "<think>\nhi\n</think>\n\nanswer");
  EXPECT_EQ(call_method(Value("\n\nx\n"), "lstrip", {Value("\n")}).as_string(), "x\n");
  EXPECT_EQ(strings(call_method(text, "split", {Value("</think>")})),
            (std::vector<std::string>{"  <think>\nhi\n", "\n\nanswer "}));
  EXPECT_EQ(strings(call_method(Value(" a  b c "), "split", {})),
            (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(
      call_method(Value("<tool_response>x"), "startswith", {Value("<tool_response>")}).truthy());
  EXPECT_TRUE(
      call_method(Value("x.md"), "endswith", {Value::list({Value(".py"), Value(".md")}, true)})
          .truthy());
  EXPECT_EQ(call_method(Value("hello world"), "title", {}).as_string(), "Hello World");
  EXPECT_EQ(call_method(Value("aXa"), "replace", {Value("a"), Value("b")}).as_string(), "bXb");
  EXPECT_EQ(call_method(Value("Été"), "upper", {}).as_string(), "ÉTÉ");
  EXPECT_THROW(call_method(Value("x"), "split", {Value("")}), Error);
  EXPECT_TRUE(get_attribute(Value("x"), "format").is_undefined());  // not offered: undefined
}

TEST(JinjaBuiltins, DictMethodsAndLookups) {
  auto entries = std::make_shared<Dict>();
  entries->set("role", Value("user"));
  const Value message = Value::dict(entries);
  EXPECT_EQ(call_method(message, "get", {Value("role")}).as_string(), "user");
  EXPECT_TRUE(call_method(message, "get", {Value("missing")}).is_none());
  EXPECT_EQ(call_method(message, "items", {}).as_list()[0].repr(), "('role', 'user')");
  EXPECT_EQ(get_item(message, Value("role")).as_string(), "user");
  EXPECT_TRUE(get_item(message, Value("content")).is_undefined());
  EXPECT_TRUE(get_attribute(Value::none(), "x").is_undefined());
  EXPECT_THROW(get_attribute(Value::undefined("m"), "x"), Error);
  const Value list = Value::list({Value(1), Value(2), Value(3)});
  EXPECT_EQ(get_item(list, Value(-1)).as_integer(), 3);
  EXPECT_TRUE(get_item(list, Value(5)).is_undefined());
  EXPECT_EQ(slice(list, Value::none(), Value::none(), Value(-1)).str(), "[3, 2, 1]");
  EXPECT_EQ(slice(list, Value(1), Value::none(), Value::none()).str(), "[2, 3]");
  EXPECT_EQ(slice(Value("héllo"), Value::none(), Value(-1), Value::none()).as_string(), "héll");
  EXPECT_TRUE(contains(Value("abc"), Value("b")));
  EXPECT_TRUE(contains(message, Value("role")));
  EXPECT_FALSE(contains(Value::undefined(), Value("x")));
}

TEST(JinjaBuiltins, Filters) {
  EXPECT_EQ(filter("trim", Value("  x \n")).as_string(), "x");
  EXPECT_EQ(filter("length", Value::list({Value(1)})).as_integer(), 1);
  EXPECT_EQ(filter("tojson", Value::list({Value("a"), Value(1)})).as_string(), "[\"a\", 1]");
  EXPECT_EQ(filter("join", Value::list({Value("a"), Value(1)}), {Value(", ")}).as_string(), "a, 1");
  EXPECT_EQ(filter("default", Value::undefined(), {Value("d")}).as_string(), "d");
  EXPECT_EQ(filter("default", Value(""), {Value("d")}).as_string(), "");
  EXPECT_EQ(filter("default", Value(""), {Value("d"), Value(true)}).as_string(), "d");
  EXPECT_EQ(filter("first", Value::list({Value(4), Value(5)})).as_integer(), 4);
  EXPECT_EQ(filter("last", Value("ab")).as_string(), "b");
  EXPECT_EQ(filter("list", Value("ab")).str(), "['a', 'b']");
  EXPECT_EQ(filter("string", Value::none()).as_string(), "None");

  auto user = std::make_shared<Dict>();
  user->set("role", Value("user"));
  auto assistant = std::make_shared<Dict>();
  assistant->set("role", Value("assistant"));
  const Value messages = Value::list({Value::dict(user), Value::dict(assistant)});
  Value users = filter("selectattr", messages, {Value("role"), Value("equalto"), Value("user")});
  EXPECT_EQ(users.as_list().size(), 1u);
  EXPECT_EQ(filter("rejectattr", messages, {Value("role"), Value("equalto"), Value("user")})
                .as_list()
                .size(),
            1u);
  Arguments by_attribute;
  by_attribute.keyword.emplace_back("attribute", Value("role"));
  EXPECT_EQ(apply_filter("map", messages, by_attribute).str(), "['user', 'assistant']");
  EXPECT_EQ(filter("map", Value::list({Value("a")}), {Value("upper")}).str(), "['A']");
  EXPECT_THROW(filter("no_such_filter", Value(1)), Error);
}

TEST(JinjaBuiltins, Tests) {
  Arguments none;
  EXPECT_TRUE(apply_test("defined", Value::none(), none));
  EXPECT_FALSE(apply_test("defined", Value::undefined(), none));
  EXPECT_TRUE(apply_test("none", Value::none(), none));
  EXPECT_TRUE(apply_test("string", Value("x"), none));
  EXPECT_TRUE(apply_test("mapping", Value::dict(), none));
  EXPECT_FALSE(apply_test("integer", Value(true), none));
  EXPECT_TRUE(apply_test("false", Value(false), none));
  EXPECT_TRUE(apply_test("iterable", Value::list({}), none));
  Arguments three;
  three.positional = {Value(3)};
  EXPECT_TRUE(apply_test("divisibleby", Value(9), three));
  EXPECT_TRUE(apply_test("equalto", Value(3.0), three));
  EXPECT_THROW(apply_test("no_such_test", Value(1), none), Error);
}

TEST(JinjaBuiltins, GlobalsAndTheFixedDate) {
  EXPECT_EQ(fixed_strftime("%d %b %Y"), "26 Jul 2024");
  EXPECT_EQ(fixed_strftime("%A %B %d"), "Friday July 26");
  Dict globals = global_functions();
  Arguments message;
  message.positional = {Value("boom")};
  try {
    globals.find("raise_exception")->call(message);
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("boom"), std::string::npos);
  }
  Arguments range;
  range.positional = {Value(1), Value(7), Value(2)};
  EXPECT_EQ(globals.find("range")->call(range).str(), "[1, 3, 5]");
  Arguments huge;
  huge.positional = {Value(int64_t{1} << 40)};
  EXPECT_THROW(globals.find("range")->call(huge), Error);
  Arguments fields;
  fields.keyword.emplace_back("flag", Value(true));
  Value ns = globals.find("namespace")->call(fields);
  EXPECT_TRUE(ns.is_namespace());
  EXPECT_TRUE(get_attribute(ns, "flag").truthy());
}

}  // namespace
}  // namespace empo::text::jinja
