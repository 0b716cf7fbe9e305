#pragma once
// Splits a Jinja2 template into tokens the way Jinja2's lexer does with the settings Hugging
// Face uses for chat templates (trim_blocks=True, lstrip_blocks=True, keep_trailing_newline
// False):
//   - text between tags is data; "{{ }}" holds an expression, "{% %}" a statement, "{# #}" a
//     comment (dropped);
//   - "{%-", "{{-", "{#-" strip all whitespace before the tag, "-%}", "-}}", "-#}" all after;
//   - trim_blocks: the first newline after "%}" or "#}" is dropped;
//   - lstrip_blocks: spaces and tabs from the start of a line up to "{%" or "{#" are dropped
//     ("{%+" keeps them);
//   - line breaks (\r\n, \r and the other breaks Python's str.splitlines knows) become "\n",
//     and one newline ending the template is dropped.
#include <cstdint>
#include <string>
#include <vector>

namespace empo::text::jinja {

struct Token {
  enum class Type {
    data,            // text, with whitespace control applied
    variable_begin,  // {{
    variable_end,    // }}
    block_begin,     // {%
    block_end,       // %}
    name,            // identifiers and keywords (if, for, and, not, ...)
    string,          // a string literal, escapes decoded
    integer,
    floating,
    operator_,  // + - * / // % ** ~ == != < <= > >= = . , : | ( ) [ ] { }
    end,        // end of the template
  };
  Type type;
  std::string text;  // data, name, decoded string, number or operator
  long line;         // 1-based line where the token starts
};

// Throws jinja::Error (with its line) for an unterminated tag, comment or string, or a
// character no expression can hold.
std::vector<Token> tokenize(const std::string& source);

// The template text with its line breaks normalized (see above).
std::string normalize_newlines(const std::string& source);

}  // namespace empo::text::jinja
