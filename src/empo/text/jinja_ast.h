#pragma once
// The syntax tree of a parsed chat template: expressions and the statements chat templates use
// (text, output, if/elif/else, for/else with loop filters, set, set-block, macro, break,
// continue and transformers' generation block). Every node keeps its template line so that
// errors name it.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "empo/text/jinja_value.h"

namespace empo::text::jinja {

struct Expression;
using ExpressionPtr = std::unique_ptr<Expression>;

struct Expression {
  enum class Kind {
    literal,    // value
    name,       // name
    list,       // items: children
    tuple,      // items: children
    dict,       // children: key, value, key, value, ...
    attribute,  // children[0].name
    subscript,  // children[0][children[1]]
    slice,      // children[0][children[1]:children[2]:children[3]], missing parts null
    call,       // children[0](children[1..], keyword)
    filter,     // children[0] | name(children[1..], keyword)
    test,       // children[0] is [not] name(children[1..], keyword)
    unary,      // name ("not" or "-" or "+") children[0]
    binary,  // children[0] name children[1]: and or in "not in" == != < <= > >= + - * / // % ** ~
    conditional,  // children[0] if children[1] else children[2] (null: undefined)
  };
  Kind kind;
  long line;
  std::string name;
  Value value;
  bool negated = false;  // "is not"
  std::vector<ExpressionPtr> children;
  std::vector<std::pair<std::string, ExpressionPtr>> keyword;
};

struct Node;
using NodePtr = std::unique_ptr<Node>;
using Body = std::vector<NodePtr>;

struct Node {
  enum class Kind { text, output, if_, for_, set, set_block, macro, break_, continue_, generation };
  Kind kind;
  long line;
  std::string text;          // text: the data
  ExpressionPtr expression;  // output, set value, for iterable
  // if: one (condition, body) per if/elif; else_body is the else branch.
  std::vector<std::pair<ExpressionPtr, Body>> branches;
  Body body;       // for, set_block, macro, generation
  Body else_body;  // if, for
  // for: loop variables (several unpack a tuple); set/set_block: targets, where
  // "ns.attribute" is written as target "ns" with attribute "attribute"; macro: its name.
  std::vector<std::string> targets;
  std::string attribute;
  ExpressionPtr condition;  // for ... if condition
  // macro: parameters, each with its default value (null: none given).
  std::vector<std::pair<std::string, ExpressionPtr>> parameters;
};

}  // namespace empo::text::jinja
