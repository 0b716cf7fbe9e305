#include "empo/text/jinja_parser.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

namespace empo::text::jinja {
namespace {

using Type = Token::Type;

ExpressionPtr make(Expression::Kind kind, long line, std::string name = "") {
  auto expression = std::make_unique<Expression>();
  expression->kind = kind;
  expression->line = line;
  expression->name = std::move(name);
  return expression;
}

ExpressionPtr make_literal(long line, Value value) {
  auto expression = make(Expression::Kind::literal, line);
  expression->value = std::move(value);
  return expression;
}

NodePtr make_node(Node::Kind kind, long line) {
  auto node = std::make_unique<Node>();
  node->kind = kind;
  node->line = line;
  return node;
}

class Parser {
 public:
  explicit Parser(const std::vector<Token>& tokens) : tokens_(tokens) {}

  Body parse_template() {
    std::string ended_by;
    Body body = parse_body({}, ended_by);
    return body;
  }

 private:
  const Token& current() const { return tokens_[position_]; }
  const Token& peek(size_t ahead = 1) const {
    return tokens_[std::min(position_ + ahead, tokens_.size() - 1)];
  }
  const Token& advance() {
    const Token& token = tokens_[position_];
    if (position_ + 1 < tokens_.size()) ++position_;
    return token;
  }
  bool at_operator(const char* text) const {
    return current().type == Type::operator_ && current().text == text;
  }
  bool at_name(const char* text) const {
    return current().type == Type::name && current().text == text;
  }
  [[noreturn]] void fail(const std::string& what) const { throw Error(what, current().line); }
  std::string shown(const Token& token) const {
    switch (token.type) {
      case Type::end:
        return "the end of the template";
      case Type::block_end:
        return "'%}'";
      case Type::variable_end:
        return "'}}'";
      case Type::data:
        return "text";
      case Type::string:
        return "a string";
      default:
        return "'" + token.text + "'";
    }
  }
  void expect_operator(const char* text) {
    if (!at_operator(text)) fail(std::string("expected '") + text + "', found " + shown(current()));
    advance();
  }
  std::string expect_name() {
    if (current().type != Type::name) fail("expected a name, found " + shown(current()));
    return advance().text;
  }
  void expect_block_end() {
    if (current().type != Type::block_end) fail("expected '%}', found " + shown(current()));
    advance();
  }

  // Statements until a block whose keyword is in `end_keywords`; that keyword is consumed
  // (its block is left open for the caller, e.g. for "elif cond %}").
  Body parse_body(const std::vector<std::string>& end_keywords, std::string& ended_by) {
    Body body;
    while (true) {
      const Token& token = current();
      if (token.type == Type::end) {
        if (!end_keywords.empty())
          fail("missing {% " + end_keywords.back() + " %} before the end of the template");
        return body;
      }
      if (token.type == Type::data) {
        auto node = make_node(Node::Kind::text, token.line);
        node->text = token.text;
        body.push_back(std::move(node));
        advance();
        continue;
      }
      if (token.type == Type::variable_begin) {
        advance();
        auto node = make_node(Node::Kind::output, token.line);
        node->expression = parse_tuple(true);
        if (current().type != Type::variable_end) fail("expected '}}', found " + shown(current()));
        advance();
        body.push_back(std::move(node));
        continue;
      }
      if (token.type != Type::block_begin) fail("unexpected " + shown(token));
      advance();
      const Token& keyword = current();
      if (keyword.type != Type::name) fail("expected a statement name after '{%'");
      if (std::find(end_keywords.begin(), end_keywords.end(), keyword.text) != end_keywords.end()) {
        ended_by = keyword.text;
        advance();
        return body;
      }
      body.push_back(parse_statement());
    }
  }

  NodePtr parse_statement() {
    const Token& keyword = advance();
    const std::string& name = keyword.text;
    const long line = keyword.line;
    if (name == "if") return parse_if(line);
    if (name == "for") return parse_for(line);
    if (name == "set") return parse_set(line);
    if (name == "macro") return parse_macro(line);
    if (name == "break" || name == "continue") {
      expect_block_end();
      return make_node(name == "break" ? Node::Kind::break_ : Node::Kind::continue_, line);
    }
    if (name == "generation") {
      expect_block_end();
      auto node = make_node(Node::Kind::generation, line);
      std::string ended_by;
      node->body = parse_body({"endgeneration"}, ended_by);
      expect_block_end();
      return node;
    }
    throw Error("unsupported statement '{% " + name + " %}' in a chat template", line);
  }

  NodePtr parse_if(long line) {
    auto node = make_node(Node::Kind::if_, line);
    ExpressionPtr condition = parse_tuple(false);
    while (true) {
      expect_block_end();
      std::string ended_by;
      Body body = parse_body({"elif", "else", "endif"}, ended_by);
      node->branches.emplace_back(std::move(condition), std::move(body));
      if (ended_by == "elif") {
        condition = parse_tuple(false);
        continue;
      }
      if (ended_by == "else") {
        expect_block_end();
        node->else_body = parse_body({"endif"}, ended_by);
      }
      expect_block_end();
      return node;
    }
  }

  NodePtr parse_for(long line) {
    auto node = make_node(Node::Kind::for_, line);
    node->targets.push_back(expect_name());
    while (at_operator(",")) {
      advance();
      node->targets.push_back(expect_name());
    }
    if (!at_name("in")) fail("expected 'in' in a for loop, found " + shown(current()));
    advance();
    // No conditional expression here: "for x in xs if cond" filters the loop.
    node->expression = parse_or();
    if (at_name("if")) {
      advance();
      node->condition = parse_expression();
    }
    if (at_name("recursive")) fail("recursive for loops are not supported in chat templates");
    expect_block_end();
    std::string ended_by;
    node->body = parse_body({"else", "endfor"}, ended_by);
    if (ended_by == "else") {
      expect_block_end();
      node->else_body = parse_body({"endfor"}, ended_by);
    }
    expect_block_end();
    return node;
  }

  NodePtr parse_set(long line) {
    auto node = make_node(Node::Kind::set, line);
    node->targets.push_back(expect_name());
    if (at_operator(".")) {
      advance();
      node->attribute = expect_name();
    } else {
      while (at_operator(",")) {
        advance();
        node->targets.push_back(expect_name());
      }
    }
    if (current().type == Type::block_end) {
      if (node->targets.size() != 1) fail("a {% set %} block assigns one name, not a tuple");
      advance();
      node->kind = Node::Kind::set_block;
      std::string ended_by;
      node->body = parse_body({"endset"}, ended_by);
      expect_block_end();
      return node;
    }
    expect_operator("=");
    node->expression = parse_tuple(true);
    expect_block_end();
    return node;
  }

  NodePtr parse_macro(long line) {
    auto node = make_node(Node::Kind::macro, line);
    node->targets.push_back(expect_name());
    expect_operator("(");
    while (!at_operator(")")) {
      if (!node->parameters.empty()) expect_operator(",");
      if (at_operator(")")) break;
      std::string parameter = expect_name();
      ExpressionPtr fallback;
      if (at_operator("=")) {
        advance();
        fallback = parse_expression();
      }
      node->parameters.emplace_back(std::move(parameter), std::move(fallback));
    }
    advance();
    expect_block_end();
    std::string ended_by;
    node->body = parse_body({"endmacro"}, ended_by);
    if (current().type == Type::name) advance();  // "{% endmacro name %}"
    expect_block_end();
    return node;
  }

  // ------------------------------------------------------------------ expressions
  // An expression, or several separated by commas: an implicit tuple.
  ExpressionPtr parse_tuple(bool allow_implicit) {
    const long line = current().line;
    ExpressionPtr first = parse_expression();
    if (!allow_implicit || !at_operator(",")) return first;
    auto tuple = make(Expression::Kind::tuple, line);
    tuple->children.push_back(std::move(first));
    while (at_operator(",")) {
      advance();
      if (ends_expression()) break;
      tuple->children.push_back(parse_expression());
    }
    return tuple;
  }

  bool ends_expression() const {
    return current().type == Type::variable_end || current().type == Type::block_end ||
           at_operator(")") || at_operator("]") || at_operator("}");
  }

  ExpressionPtr parse_expression() {
    ExpressionPtr value = parse_or();
    while (at_name("if")) {
      const long line = advance().line;
      auto conditional = make(Expression::Kind::conditional, line);
      conditional->children.push_back(std::move(value));
      conditional->children.push_back(parse_or());
      if (at_name("else")) {
        advance();
        conditional->children.push_back(parse_expression());
      } else {
        conditional->children.push_back(nullptr);
      }
      value = std::move(conditional);
    }
    return value;
  }

  ExpressionPtr binary(std::string op, ExpressionPtr left, ExpressionPtr right, long line) {
    auto node = make(Expression::Kind::binary, line, std::move(op));
    node->children.push_back(std::move(left));
    node->children.push_back(std::move(right));
    return node;
  }

  ExpressionPtr parse_or() {
    ExpressionPtr left = parse_and();
    while (at_name("or")) {
      const long line = advance().line;
      left = binary("or", std::move(left), parse_and(), line);
    }
    return left;
  }

  ExpressionPtr parse_and() {
    ExpressionPtr left = parse_not();
    while (at_name("and")) {
      const long line = advance().line;
      left = binary("and", std::move(left), parse_not(), line);
    }
    return left;
  }

  ExpressionPtr parse_not() {
    if (at_name("not")) {
      const long line = advance().line;
      auto node = make(Expression::Kind::unary, line, "not");
      node->children.push_back(parse_not());
      return node;
    }
    return parse_compare();
  }

  // Comparisons chain as in Python: a < b < c is (a < b) and (b < c).
  ExpressionPtr parse_compare() {
    ExpressionPtr left = parse_math1();
    ExpressionPtr chained;
    const Expression* previous_right = nullptr;
    while (true) {
      std::string op;
      const long line = current().line;
      if (current().type == Type::operator_ &&
          (current().text == "==" || current().text == "!=" || current().text == "<" ||
           current().text == "<=" || current().text == ">" || current().text == ">=")) {
        op = advance().text;
      } else if (at_name("in")) {
        advance();
        op = "in";
      } else if (at_name("not") && peek().type == Type::name && peek().text == "in") {
        advance();
        advance();
        op = "not in";
      } else {
        break;
      }
      ExpressionPtr right = parse_math1();
      if (!chained) {
        previous_right = right.get();
        chained = binary(op, std::move(left), std::move(right), line);
      } else {
        ExpressionPtr middle = clone(*previous_right);
        previous_right = right.get();
        chained = binary("and", std::move(chained),
                         binary(op, std::move(middle), std::move(right), line), line);
      }
    }
    return chained ? std::move(chained) : std::move(left);
  }

  static ExpressionPtr clone(const Expression& expression) {
    auto copy = make(expression.kind, expression.line, expression.name);
    copy->value = expression.value;
    copy->negated = expression.negated;
    for (const auto& child : expression.children)
      copy->children.push_back(child ? clone(*child) : nullptr);
    for (const auto& [key, child] : expression.keyword)
      copy->keyword.emplace_back(key, clone(*child));
    return copy;
  }

  ExpressionPtr parse_math1() {
    ExpressionPtr left = parse_concat();
    while (at_operator("+") || at_operator("-")) {
      const Token& op = advance();
      left = binary(op.text, std::move(left), parse_concat(), op.line);
    }
    return left;
  }

  ExpressionPtr parse_concat() {
    ExpressionPtr left = parse_math2();
    while (at_operator("~")) {
      const long line = advance().line;
      left = binary("~", std::move(left), parse_math2(), line);
    }
    return left;
  }

  ExpressionPtr parse_math2() {
    ExpressionPtr left = parse_pow();
    while (at_operator("*") || at_operator("/") || at_operator("//") || at_operator("%")) {
      const Token& op = advance();
      left = binary(op.text, std::move(left), parse_pow(), op.line);
    }
    return left;
  }

  ExpressionPtr parse_pow() {
    ExpressionPtr left = parse_unary();
    while (at_operator("**")) {
      const long line = advance().line;
      left = binary("**", std::move(left), parse_unary(), line);
    }
    return left;
  }

  // As in Jinja2, filters bind to the whole unary expression: -x|abs is (-x)|abs.
  ExpressionPtr parse_unary(bool with_filters = true) {
    ExpressionPtr value;
    if (at_operator("-") || at_operator("+")) {
      const Token& op = advance();
      value = make(Expression::Kind::unary, op.line, op.text);
      value->children.push_back(parse_unary(false));
    } else {
      value = parse_postfix(parse_primary());
    }
    return with_filters ? parse_filters(std::move(value)) : std::move(value);
  }

  ExpressionPtr parse_primary() {
    const Token& token = current();
    switch (token.type) {
      case Type::name: {
        advance();
        const std::string& name = token.text;
        if (name == "true" || name == "True") return make_literal(token.line, Value(true));
        if (name == "false" || name == "False") return make_literal(token.line, Value(false));
        if (name == "none" || name == "None") return make_literal(token.line, Value::none());
        return make(Expression::Kind::name, token.line, name);
      }
      case Type::string: {
        std::string text = advance().text;
        while (current().type == Type::string) text += advance().text;  // 'a' 'b' is 'ab'
        return make_literal(token.line, Value(text));
      }
      case Type::integer: {
        advance();
        errno = 0;
        const long long value = std::strtoll(token.text.c_str(), nullptr, 10);
        if (errno == ERANGE) throw Error("integer literal out of range: " + token.text, token.line);
        return make_literal(token.line, Value(static_cast<int64_t>(value)));
      }
      case Type::floating:
        advance();
        return make_literal(token.line, Value(std::strtod(token.text.c_str(), nullptr)));
      case Type::operator_:
        if (token.text == "(") return parse_parenthesized();
        if (token.text == "[") return parse_list();
        if (token.text == "{") return parse_dict();
        break;
      default:
        break;
    }
    fail("unexpected " + shown(token) + " in an expression");
  }

  ExpressionPtr parse_parenthesized() {
    const long line = advance().line;
    if (at_operator(")")) {
      advance();
      return make(Expression::Kind::tuple, line);
    }
    ExpressionPtr first = parse_expression();
    if (!at_operator(",")) {
      expect_operator(")");
      return first;
    }
    auto tuple = make(Expression::Kind::tuple, line);
    tuple->children.push_back(std::move(first));
    while (at_operator(",")) {
      advance();
      if (at_operator(")")) break;
      tuple->children.push_back(parse_expression());
    }
    expect_operator(")");
    return tuple;
  }

  ExpressionPtr parse_list() {
    auto list = make(Expression::Kind::list, advance().line);
    while (!at_operator("]")) {
      if (!list->children.empty()) {
        expect_operator(",");
        if (at_operator("]")) break;
      }
      list->children.push_back(parse_expression());
    }
    advance();
    return list;
  }

  ExpressionPtr parse_dict() {
    auto dict = make(Expression::Kind::dict, advance().line);
    while (!at_operator("}")) {
      if (!dict->children.empty()) {
        expect_operator(",");
        if (at_operator("}")) break;
      }
      dict->children.push_back(parse_expression());
      expect_operator(":");
      dict->children.push_back(parse_expression());
    }
    advance();
    return dict;
  }

  ExpressionPtr parse_postfix(ExpressionPtr value) {
    while (true) {
      if (at_operator(".")) {
        const long line = advance().line;
        auto node = make(Expression::Kind::attribute, line);
        if (current().type == Type::name) {
          node->name = advance().text;
        } else if (current().type == Type::integer) {  // foo.0 is foo[0]
          node->kind = Expression::Kind::subscript;
          node->children.push_back(std::move(value));
          node->children.push_back(
              make_literal(line, Value(static_cast<int64_t>(std::atoll(advance().text.c_str())))));
          value = std::move(node);
          continue;
        } else {
          fail("expected an attribute name after '.'");
        }
        node->children.push_back(std::move(value));
        value = std::move(node);
      } else if (at_operator("[")) {
        value = parse_subscript(std::move(value));
      } else if (at_operator("(")) {
        auto call = make(Expression::Kind::call, current().line);
        call->children.push_back(std::move(value));
        parse_arguments(*call);
        value = std::move(call);
      } else {
        return value;
      }
    }
  }

  ExpressionPtr parse_subscript(ExpressionPtr value) {
    const long line = advance().line;
    ExpressionPtr parts[3];
    int part = 0;
    bool is_slice = false;
    while (!at_operator("]")) {
      if (at_operator(":")) {
        is_slice = true;
        if (++part > 2) fail("a slice has at most three parts");
        advance();
        continue;
      }
      if (parts[part]) fail("expected ':' or ']' in a subscript");
      parts[part] = parse_expression();
    }
    advance();
    if (!is_slice) {
      if (!parts[0]) fail("empty subscript");
      auto node = make(Expression::Kind::subscript, line);
      node->children.push_back(std::move(value));
      node->children.push_back(std::move(parts[0]));
      return node;
    }
    auto node = make(Expression::Kind::slice, line);
    node->children.push_back(std::move(value));
    for (auto& child : parts) node->children.push_back(std::move(child));
    return node;
  }

  // "(a, b, name=c)" into node.children (after what is already there) and node.keyword.
  void parse_arguments(Expression& node) {
    expect_operator("(");
    bool first = true;
    while (!at_operator(")")) {
      if (!first) {
        expect_operator(",");
        if (at_operator(")")) break;
      }
      first = false;
      if (at_operator("*") || at_operator("**"))
        fail("*args and **kwargs are not supported in chat templates");
      if (current().type == Type::name && peek().type == Type::operator_ && peek().text == "=") {
        std::string name = advance().text;
        advance();
        node.keyword.emplace_back(std::move(name), parse_expression());
      } else {
        if (!node.keyword.empty()) fail("a positional argument follows a keyword argument");
        node.children.push_back(parse_expression());
      }
    }
    advance();
  }

  ExpressionPtr parse_filters(ExpressionPtr value) {
    while (true) {
      if (at_operator("|")) {
        advance();
        auto filter = make(Expression::Kind::filter, current().line, expect_name());
        while (at_operator(".")) {  // dotted filter names
          advance();
          filter->name += "." + expect_name();
        }
        filter->children.push_back(std::move(value));
        if (at_operator("(")) parse_arguments(*filter);
        value = std::move(filter);
      } else if (at_name("is")) {
        const long line = advance().line;
        auto test = make(Expression::Kind::test, line);
        if (at_name("not")) {
          advance();
          test->negated = true;
        }
        test->name = expect_name();
        test->children.push_back(std::move(value));
        if (at_operator("(")) {
          parse_arguments(*test);
        } else if ((current().type == Type::name || current().type == Type::string ||
                    current().type == Type::integer || current().type == Type::floating ||
                    at_operator("[") || at_operator("{")) &&
                   !at_name("else") && !at_name("or") && !at_name("and") && !at_name("if") &&
                   !at_name("is") && !at_name("in") && !at_name("not")) {
          // "x is divisibleby 3": one argument without parentheses.
          test->children.push_back(parse_postfix(parse_primary()));
        }
        value = std::move(test);
      } else {
        return value;
      }
    }
  }

  const std::vector<Token>& tokens_;
  size_t position_ = 0;
};

}  // namespace

Body parse(const std::vector<Token>& tokens) {
  return Parser(tokens).parse_template();
}

}  // namespace empo::text::jinja
