#pragma once
// Builds the syntax tree of a chat template from its tokens, following Jinja2's grammar and
// operator precedence (lowest first): "x if c else y", or, and, not, comparisons and "in",
// + -, ~, * / // %, **, unary - +, then postfix . [] () and the filter / test suffixes
// "| f(...)" and "is [not] t(...)".
// Statements other than those in jinja_ast.h (extends, include, import, call, filter, with,
// raw, ...) are an Error naming their line, never silently skipped.
#include <vector>

#include "empo/text/jinja_ast.h"
#include "empo/text/jinja_lexer.h"

namespace empo::text::jinja {

Body parse(const std::vector<Token>& tokens);

}  // namespace empo::text::jinja
