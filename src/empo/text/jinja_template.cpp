#include "empo/text/jinja_template.h"

#include <cmath>

#include "empo/io/error.h"
#include "empo/text/jinja_builtins.h"
#include "empo/text/jinja_lexer.h"
#include "empo/text/jinja_parser.h"

namespace empo::text::jinja {
namespace {

// Limits that stop a hostile template (or a fuzzer's) rather than the machine: real chat
// templates render in well under a thousand steps and a few kilobytes.
constexpr size_t kMaxSteps = 2'000'000;
constexpr size_t kMaxOutput = size_t{1} << 26;
constexpr int kMaxDepth = 64;

// a op b on int64, or an Error where Python's unbounded integers would outgrow it.
template <class Operation>
int64_t checked(Operation operation, int64_t a, int64_t b) {
  int64_t result = 0;
  if (operation(a, b, &result)) throw Error("integer overflow");
  return result;
}
bool add(int64_t a, int64_t b, int64_t* out) {
  return __builtin_add_overflow(a, b, out);
}
bool subtract(int64_t a, int64_t b, int64_t* out) {
  return __builtin_sub_overflow(a, b, out);
}
bool multiply(int64_t a, int64_t b, int64_t* out) {
  return __builtin_mul_overflow(a, b, out);
}

Value arithmetic(const std::string& op, const Value& left, const Value& right) {
  if (op == "~") return Value(left.str() + right.str());
  if (left.is_undefined() || right.is_undefined())
    throw Error("'" + op + "' on " + (left.is_undefined() ? left : right).describe());
  if (op == "+") {
    if (left.is_string() && right.is_string()) return Value(left.as_string() + right.as_string());
    if (left.is_list() && right.is_list() && left.is_tuple() == right.is_tuple()) {
      List items = left.as_list();
      items.insert(items.end(), right.as_list().begin(), right.as_list().end());
      return Value::list(std::move(items), left.is_tuple());
    }
  }
  if (op == "*" && (left.is_string() || left.is_list() || right.is_string() || right.is_list())) {
    const Value& sequence = left.is_string() || left.is_list() ? left : right;
    const Value& times = &sequence == &left ? right : left;
    if (!times.is_integer()) throw Error("can only repeat a sequence an integer number of times");
    const int64_t count = std::max<int64_t>(0, times.as_integer());
    const size_t unit =
        sequence.is_string() ? sequence.as_string().size() : sequence.as_list().size();
    if (unit > 0 && static_cast<uint64_t>(count) > kMaxOutput / unit)
      throw Error("repetition too long for a chat template");
    if (sequence.is_string()) {
      std::string out;
      for (int64_t i = 0; i < count; ++i) out += sequence.as_string();
      return Value(out);
    }
    List items;
    for (int64_t i = 0; i < count; ++i)
      items.insert(items.end(), sequence.as_list().begin(), sequence.as_list().end());
    return Value::list(std::move(items), sequence.is_tuple());
  }
  if (!left.is_number() || !right.is_number())
    throw Error("unsupported operand types for " + op + ": " + left.describe() + " and " +
                right.describe());
  const bool integers = left.is_integer() && right.is_integer();
  const int64_t a = left.as_integer(), b = right.as_integer();
  const double x = left.as_double(), y = right.as_double();
  if (op == "+") return integers ? Value(checked(add, a, b)) : Value(x + y);
  if (op == "-") return integers ? Value(checked(subtract, a, b)) : Value(x - y);
  if (op == "*") return integers ? Value(checked(multiply, a, b)) : Value(x * y);
  if (op == "/") {
    if (y == 0.0) throw Error("division by zero");
    return Value(x / y);
  }
  if (op == "//" || op == "%") {
    if (integers) {
      if (b == 0) throw Error("integer division or modulo by zero");
      if (a == INT64_MIN && b == -1) throw Error("integer overflow");
      int64_t quotient = a / b, remainder = a % b;
      if (remainder != 0 && ((remainder < 0) != (b < 0))) {  // Python floors
        --quotient;
        remainder += b;
      }
      return Value(op == "//" ? quotient : remainder);
    }
    if (y == 0.0) throw Error("float division or modulo by zero");
    const double floor = std::floor(x / y);
    return op == "//" ? Value(floor) : Value(x - floor * y);
  }
  if (op == "**") {
    if (integers && b >= 0) {
      int64_t power = 1, base = a;
      for (int64_t exponent = b; exponent > 0; exponent >>= 1) {
        if (exponent & 1) power = checked(multiply, power, base);
        if (exponent > 1) base = checked(multiply, base, base);
      }
      return Value(power);
    }
    return Value(std::pow(x, y));
  }
  throw Error("unknown operator " + op);
}

class Renderer {
 public:
  explicit Renderer(const Dict& variables) {
    frames_.push_back(std::make_shared<Dict>(global_functions()));
    frames_.push_back(std::make_shared<Dict>(variables));
    frames_.push_back(std::make_shared<Dict>());
  }

  std::string run(const Body& body) {
    std::string out;
    render_body(body, out);
    return out;
  }

 private:
  enum class Flow { normal, break_loop, continue_loop };

  void step(size_t count = 1) {
    steps_ += count;
    if (steps_ > kMaxSteps) throw Error("the template runs too long");
  }

  Flow render_body(const Body& body, std::string& out) {
    for (const auto& node : body) {
      Flow flow = render_node(*node, out);
      if (flow != Flow::normal) return flow;
    }
    return Flow::normal;
  }

  Flow render_node(const Node& node, std::string& out) {
    step();
    try {
      switch (node.kind) {
        case Node::Kind::text:
          append(out, node.text);
          return Flow::normal;
        case Node::Kind::output:
          append(out, evaluate(*node.expression).str());
          return Flow::normal;
        case Node::Kind::if_:
          for (const auto& [condition, body] : node.branches)
            if (evaluate(*condition).truthy()) return render_body(body, out);
          return render_body(node.else_body, out);
        case Node::Kind::for_:
          return render_for(node, out);
        case Node::Kind::set:
          assign(node, evaluate(*node.expression));
          return Flow::normal;
        case Node::Kind::set_block: {
          std::string captured;
          render_body(node.body, captured);
          assign(node, Value(captured));
          return Flow::normal;
        }
        case Node::Kind::macro:
          define_macro(node);
          return Flow::normal;
        case Node::Kind::break_:
          return Flow::break_loop;
        case Node::Kind::continue_:
          return Flow::continue_loop;
        case Node::Kind::generation:
          return render_body(node.body, out);
      }
    } catch (Error& error) {
      if (error.line == 0) error.line = node.line;
      throw;
    }
    return Flow::normal;
  }

  void append(std::string& out, const std::string& text) {
    out += text;
    if (out.size() > kMaxOutput) throw Error("the rendered prompt is too long");
  }

  Value lookup(const std::string& name) const {
    for (auto frame = frames_.rbegin(); frame != frames_.rend(); ++frame)
      if (const Value* found = (*frame)->find(name)) return *found;
    return Value::undefined(name);
  }

  void assign(const Node& node, const Value& value) {
    if (!node.attribute.empty()) {
      Value target = lookup(node.targets[0]);
      if (!target.is_namespace())
        throw Error("cannot assign ." + node.attribute + " of " + target.describe() +
                    " (only a namespace() takes attributes)");
      target.as_dict().set(node.attribute, value);
      return;
    }
    if (node.targets.size() == 1) {
      frames_.back()->set(node.targets[0], value);
      return;
    }
    List items = value.iterate();
    if (items.size() != node.targets.size())
      throw Error("cannot unpack " + std::to_string(items.size()) + " values into " +
                  std::to_string(node.targets.size()) + " names");
    for (size_t i = 0; i < items.size(); ++i) frames_.back()->set(node.targets[i], items[i]);
  }

  void bind_targets(Dict& frame, const std::vector<std::string>& targets, const Value& item) {
    if (targets.size() == 1) {
      frame.set(targets[0], item);
      return;
    }
    List parts = item.iterate();
    if (parts.size() != targets.size())
      throw Error("cannot unpack " + std::to_string(parts.size()) + " values into " +
                  std::to_string(targets.size()) + " loop variables");
    for (size_t i = 0; i < parts.size(); ++i) frame.set(targets[i], parts[i]);
  }

  Flow render_for(const Node& node, std::string& out) {
    List items = evaluate(*node.expression).iterate();
    // Every item costs a step, even under an empty body, so nested loops stay bounded.
    step(items.size());
    if (node.condition) {
      List kept;
      for (const Value& item : items) {
        auto frame = std::make_shared<Dict>();
        bind_targets(*frame, node.targets, item);
        frames_.push_back(frame);
        const bool keep = evaluate(*node.condition).truthy();
        frames_.pop_back();
        if (keep) kept.push_back(item);
      }
      items = std::move(kept);
    }
    if (items.empty()) return render_body(node.else_body, out);
    const int64_t length = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < length; ++i) {
      auto frame = std::make_shared<Dict>();
      bind_targets(*frame, node.targets, items[static_cast<size_t>(i)]);
      frame->set("loop", loop_object(items, i));
      frames_.push_back(frame);
      Flow flow;
      try {
        flow = render_body(node.body, out);
      } catch (...) {
        frames_.pop_back();
        throw;
      }
      frames_.pop_back();
      if (flow == Flow::break_loop) break;
    }
    return Flow::normal;
  }

  static Value loop_object(const List& items, int64_t i) {
    const int64_t length = static_cast<int64_t>(items.size());
    auto loop = std::make_shared<Dict>();
    loop->set("index", Value(i + 1));
    loop->set("index0", Value(i));
    loop->set("revindex", Value(length - i));
    loop->set("revindex0", Value(length - i - 1));
    loop->set("first", Value(i == 0));
    loop->set("last", Value(i == length - 1));
    loop->set("length", Value(length));
    loop->set("depth", Value(1));
    loop->set("depth0", Value(0));
    loop->set("previtem", i > 0 ? items[static_cast<size_t>(i - 1)] : Value::undefined("previtem"));
    loop->set("nextitem",
              i + 1 < length ? items[static_cast<size_t>(i + 1)] : Value::undefined("nextitem"));
    loop->set("cycle", Value::function("loop.cycle", [i](Arguments& arguments) {
                if (arguments.positional.empty()) throw Error("loop.cycle needs values");
                return arguments.positional[static_cast<size_t>(i) % arguments.positional.size()];
              }));
    return Value::namespace_object(loop);
  }

  void define_macro(const Node& node) {
    const Node* macro = &node;
    frames_.back()->set(node.targets[0],
                        Value::function(node.targets[0], [this, macro](Arguments& arguments) {
                          return call_macro(*macro, arguments);
                        }));
  }

  Value call_macro(const Node& macro, Arguments& arguments) {
    if (++depth_ > kMaxDepth) throw Error("macros nest too deeply");
    const std::string& name = macro.targets[0];
    if (arguments.positional.size() > macro.parameters.size())
      throw Error("macro " + name + " takes " + std::to_string(macro.parameters.size()) +
                  " arguments, got " + std::to_string(arguments.positional.size()));
    // A macro sees the globals, the render's variables and the template's top level.
    std::vector<std::shared_ptr<Dict>> saved = frames_;
    frames_.resize(3);
    auto frame = std::make_shared<Dict>();
    frames_.push_back(frame);
    std::string out;
    try {
      for (const auto& [key, value] : arguments.keyword) {
        bool known = false;
        for (const auto& parameter : macro.parameters) known |= parameter.first == key;
        if (!known) throw Error("macro " + name + " has no parameter '" + key + "'");
      }
      for (size_t i = 0; i < macro.parameters.size(); ++i) {
        const auto& [parameter, fallback] = macro.parameters[i];
        Value value = arguments.get(i, parameter);
        if (value.is_undefined() && fallback) value = evaluate(*fallback);
        frame->set(parameter, value.is_undefined() ? Value::undefined(parameter) : value);
      }
      render_body(macro.body, out);
    } catch (...) {
      frames_ = saved;
      --depth_;
      throw;
    }
    frames_ = saved;
    --depth_;
    return Value(out);
  }

  Arguments evaluate_arguments(const Expression& expression, size_t first) {
    Arguments arguments;
    for (size_t i = first; i < expression.children.size(); ++i)
      arguments.positional.push_back(evaluate(*expression.children[i]));
    for (const auto& [key, child] : expression.keyword)
      arguments.keyword.emplace_back(key, evaluate(*child));
    return arguments;
  }

  Value evaluate(const Expression& expression) {
    step();
    if (++depth_ > kMaxDepth * 8) {
      --depth_;
      throw Error("the expression nests too deeply", expression.line);
    }
    try {
      Value value = evaluate_unguarded(expression);
      --depth_;
      return value;
    } catch (Error& error) {
      --depth_;
      if (error.line == 0) error.line = expression.line;
      throw;
    }
  }

  Value evaluate_unguarded(const Expression& expression) {
    using Kind = Expression::Kind;
    const auto& children = expression.children;
    switch (expression.kind) {
      case Kind::literal:
        return expression.value;
      case Kind::name:
        return lookup(expression.name);
      case Kind::list:
      case Kind::tuple: {
        List items;
        for (const auto& child : children) items.push_back(evaluate(*child));
        return Value::list(std::move(items), expression.kind == Kind::tuple);
      }
      case Kind::dict: {
        auto entries = std::make_shared<Dict>();
        for (size_t i = 0; i + 1 < children.size(); i += 2) {
          Value key = evaluate(*children[i]);
          if (!key.is_string()) throw Error("dict keys must be strings in a chat template");
          entries->set(key.as_string(), evaluate(*children[i + 1]));
        }
        return Value::dict(std::move(entries));
      }
      case Kind::attribute:
        return get_attribute(evaluate(*children[0]), expression.name);
      case Kind::subscript: {
        Value object = evaluate(*children[0]);
        return get_item(object, evaluate(*children[1]));
      }
      case Kind::slice: {
        Value object = evaluate(*children[0]);
        auto part = [&](size_t i) { return children[i] ? evaluate(*children[i]) : Value::none(); };
        Value start = part(1), stop = part(2), stride = part(3);
        return slice(object, start, stop, stride);
      }
      case Kind::call: {
        Value callee = evaluate(*children[0]);
        Arguments arguments = evaluate_arguments(expression, 1);
        if (callee.is_undefined())
          throw Error("'" + (callee.name().empty() ? std::string("it") : callee.name()) +
                      "' is undefined and cannot be called");
        if (!callee.is_function()) throw Error(callee.describe() + " is not callable");
        return callee.call(arguments);
      }
      case Kind::filter: {
        Value value = evaluate(*children[0]);
        Arguments arguments = evaluate_arguments(expression, 1);
        return apply_filter(expression.name, value, arguments);
      }
      case Kind::test: {
        Value value = evaluate(*children[0]);
        Arguments arguments = evaluate_arguments(expression, 1);
        return Value(apply_test(expression.name, value, arguments) != expression.negated);
      }
      case Kind::unary: {
        Value operand = evaluate(*children[0]);
        if (expression.name == "not") return Value(!operand.truthy());
        if (!operand.is_number())
          throw Error("bad operand for unary " + expression.name + ": " + operand.describe());
        if (expression.name == "+")
          return operand.is_integer() ? Value(operand.as_integer()) : operand;
        if (operand.is_integer()) {
          if (operand.as_integer() == INT64_MIN) throw Error("integer overflow");
          return Value(-operand.as_integer());
        }
        return Value(-operand.as_double());
      }
      case Kind::binary:
        return evaluate_binary(expression);
      case Kind::conditional:
        if (evaluate(*children[1]).truthy()) return evaluate(*children[0]);
        return children[2] ? evaluate(*children[2]) : Value::undefined();
    }
    throw Error("unknown expression");
  }

  Value evaluate_binary(const Expression& expression) {
    const std::string& op = expression.name;
    Value left = evaluate(*expression.children[0]);
    if (op == "and") return left.truthy() ? evaluate(*expression.children[1]) : left;
    if (op == "or") return left.truthy() ? left : evaluate(*expression.children[1]);
    Value right = evaluate(*expression.children[1]);
    if (op == "==") return Value(equal(left, right));
    if (op == "!=") return Value(!equal(left, right));
    if (op == "<") return Value(less(left, right));
    if (op == ">") return Value(less(right, left));
    if (op == "<=") return Value(!less(right, left));
    if (op == ">=") return Value(!less(left, right));
    if (op == "in") return Value(contains(right, left));
    if (op == "not in") return Value(!contains(right, left));
    return arithmetic(op, left, right);
  }

  std::vector<std::shared_ptr<Dict>> frames_;  // globals, variables, top level, loop bodies...
  size_t steps_ = 0;
  int depth_ = 0;
};

}  // namespace

Template Template::parse(const std::string& source, const std::string& name) {
  Template parsed;
  parsed.name_ = name;
  try {
    parsed.body_ = std::make_shared<const Body>(jinja::parse(tokenize(source)));
  } catch (const Error& error) {
    throw_input_error(name, error.line, error.what());
  }
  return parsed;
}

std::string Template::render(const Dict& variables) const {
  try {
    return Renderer(variables).run(*body_);
  } catch (const Error& error) {
    throw_input_error(name_, error.line, error.what());
  }
}

}  // namespace empo::text::jinja
