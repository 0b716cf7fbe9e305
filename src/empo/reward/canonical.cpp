#include <algorithm>
#include <sstream>

#include "empo/reward/latex.h"

namespace empo::reward {

namespace {

std::string print(const GiNaC::ex& expression) {
  std::ostringstream out;
  out << expression;
  return out.str();
}

}  // namespace

bool is_math(const MathValue& value) {
  switch (value.kind) {
    case ValueKind::empty:
    case ValueKind::invalid:
    case ValueKind::choice:
    case ValueKind::text:
      return false;
    default:
      return true;
  }
}

std::string canonical_key(const MathValue& value) {
  auto joined = [](const std::vector<MathValue>& items, bool sort) -> std::string {
    std::vector<std::string> keys;
    for (const MathValue& item : items) {
      std::string key = canonical_key(item);
      if (key.empty()) return "";
      keys.push_back(std::move(key));
    }
    if (sort) {
      std::sort(keys.begin(), keys.end());
      keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    }
    std::string out;
    for (const std::string& key : keys) out += key + ";";
    return out;
  };
  switch (value.kind) {
    case ValueKind::empty:
    case ValueKind::invalid:
      return "";
    case ValueKind::expression:
      // A labelled answer keeps its equation in the key: "y = 1 - x" and "1 - x" are distinct
      // nodes, each compared, so clusters never depend on which one came first.
      return "e:" + print(value.expression) +
             (value.assignment ? "|a:" + print(*value.assignment) : std::string());
    case ValueKind::equation:
      return "q:" + print(value.expression);
    case ValueKind::not_equal:
      return "n:" + print(value.expression);
    case ValueKind::relation:
      return (value.strict ? "r>:" : "r>=:") + print(value.expression);
    case ValueKind::choice:
      return "c:" + value.text;
    case ValueKind::text:
      return "t:" + value.text;
    case ValueKind::tuple: {
      std::string inner = joined(value.items, false);
      if (inner.empty() && !value.items.empty()) return "";
      return std::string(1, value.open) + inner + value.close;
    }
    case ValueKind::set: {
      std::string inner = joined(value.items, true);
      if (inner.empty() && !value.items.empty()) return "";
      return "{" + inner + "}";
    }
    case ValueKind::union_of: {
      std::string inner = joined(value.items, true);
      return inner.empty() ? "" : "U{" + inner + "}";
    }
    case ValueKind::matrix: {
      std::string inner = joined(value.items, false);
      return inner.empty() ? "" : "M[" + inner + "]";
    }
  }
  return "";
}

std::string describe(const MathValue& value) {
  auto items = [](const std::vector<MathValue>& values) {
    std::string out;
    for (size_t i = 0; i < values.size(); ++i) {
      if (i) out += ", ";
      out += describe(values[i]);
    }
    return out;
  };
  switch (value.kind) {
    case ValueKind::empty:
      return "empty";
    case ValueKind::invalid:
      return "invalid (" + value.text + ")";
    case ValueKind::expression:
      return "expression " + print(value.expression);
    case ValueKind::equation:
      return "equation " + print(value.expression) + " = 0";
    case ValueKind::not_equal:
      return "not_equal " + print(value.expression) + " != 0";
    case ValueKind::relation:
      return "relation " + print(value.expression) + (value.strict ? " > 0" : " >= 0");
    case ValueKind::tuple:
      return "tuple" + std::string(1, value.open) + items(value.items) + value.close;
    case ValueKind::set:
      return "set{" + items(value.items) + "}";
    case ValueKind::union_of:
      return "union{" + items(value.items) + "}";
    case ValueKind::matrix:
      return "matrix[" + items(value.items) + "]";
    case ValueKind::choice:
      return "choice " + value.text;
    case ValueKind::text:
      return "text " + value.text;
  }
  return "?";
}

}  // namespace empo::reward
