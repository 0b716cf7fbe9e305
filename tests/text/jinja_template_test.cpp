#include "empo/text/jinja_template.h"

#include <gtest/gtest.h>

#include "empo/io/error.h"

namespace empo::text::jinja {
namespace {

std::string render(const std::string& source,
                   const nlohmann::json& variables = nlohmann::json::object()) {
  Dict context;
  for (const auto& [key, value] : variables.items()) context.set(key, Value::from_json(value));
  return Template::parse(source, "t.jinja").render(context);
}

TEST(JinjaTemplate, LoopsAndTheirVariables) {
  nlohmann::json items = {{"items", {"a", "b", "c"}}};
  EXPECT_EQ(render("{% for x in items %}{{ loop.index }}{{ x }}{% if not loop.last %},{% endif %}"
                   "{% endfor %}",
                   items),
            "1a,2b,3c");
  EXPECT_EQ(
      render("{% for x in items if x != 'b' %}{{ loop.index0 }}/{{ loop.length }}{% endfor %}",
             items),
      "0/21/2");
  EXPECT_EQ(render("{% for x in [] %}x{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(render("{% for x in items %}{% if x == 'b' %}{% break %}{% endif %}{{ x }}{% endfor %}",
                   items),
            "a");
  EXPECT_EQ(
      render("{% for x in items %}{% if x == 'b' %}{% continue %}{% endif %}{{ x }}{% endfor %}",
             items),
      "ac");
  EXPECT_EQ(render("{% for k, v in {'a': 1}.items() %}{{ k }}={{ v }}{% endfor %}"), "a=1");
}

TEST(JinjaTemplate, ScopingNeedsNamespaces) {
  // A set inside a loop is gone after it; a namespace carries state out.
  EXPECT_EQ(render("{% set x = 1 %}{% for i in [1, 2] %}{% set x = x + i %}{% endfor %}{{ x }}"),
            "1");
  EXPECT_EQ(render("{% set ns = namespace(x=1) %}{% for i in [1, 2] %}{% set ns.x = ns.x + i %}"
                   "{% endfor %}{{ ns.x }}"),
            "4");
  // An if does not open a scope.
  EXPECT_EQ(render("{% if true %}{% set y = 'in' %}{% endif %}{{ y }}"), "in");
  EXPECT_THROW(render("{% set s = 'x' %}{% set s.a = 1 %}"), InputError);
}

TEST(JinjaTemplate, MacrosSetBlocksAndExpressions) {
  EXPECT_EQ(render("{% macro turn(role, text='') %}<{{ role }}>{{ text }}{% endmacro %}"
                   "{{ turn('user', 'hi') }}{{ turn(role='x') }}"),
            "<user>hi<x>");
  EXPECT_EQ(render("{% set block %}a{{ 1 + 1 }}{% endset %}{{ block | upper }}"), "A2");
  EXPECT_EQ(
      render("{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 'ab' * 2 }}"),
      "3 -4 2 3.5 1024 abab");
  EXPECT_EQ(render("{{ 'yes' if 1 < 2 < 3 else 'no' }}{{ none }}{{ undefined_name }}|"),
            "yesNone|");
  EXPECT_EQ(render("{{ [1, 2] + [3] }} {{ (1,) }} {{ {'a': [1]} | tojson }}"),
            "[1, 2, 3] (1,) {\"a\": [1]}");
  EXPECT_EQ(render("{{ 'a' ~ 1 ~ none }}"), "a1None");
  EXPECT_EQ(render("{% generation %}kept{% endgeneration %}"), "kept");
}

TEST(JinjaTemplate, FailuresAreInputErrorsWithFileAndLine) {
  auto error_of = [](const std::string& source) {
    try {
      render(source);
    } catch (const InputError& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of("ok\n{{ raise_exception('bad conversation') }}")
                .find("t.jinja:2: the template raised: bad conversation"),
            std::string::npos);
  EXPECT_NE(error_of("{{ 1 + 'a' }}").find("t.jinja:1:"), std::string::npos);
  EXPECT_NE(error_of("{{ missing.attribute }}").find("undefined"), std::string::npos);
  EXPECT_NE(error_of("{{ nothing() }}").find("undefined"), std::string::npos);
  EXPECT_NE(error_of("{{ 9223372036854775807 + 1 }}").find("overflow"), std::string::npos);
  EXPECT_NE(
      error_of("{% for i in range(1000000) %}{% for j in range(1000000) %}{% endfor %}{% endfor %}")
          .find("too long"),
      std::string::npos);
  EXPECT_NE(error_of("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}").find("deeply"),
            std::string::npos);
}

}  // namespace
}  // namespace empo::text::jinja
