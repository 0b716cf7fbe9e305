#pragma once
// The values a chat template computes with, with Python's semantics where Jinja2 inherits
// them (truthiness, equality, str(), repr(), json.dumps), because Hugging Face renders chat
// templates with Jinja2 on Python objects and the prompt must come out byte for byte the same.
//
// Lists and dicts are shared, as Python's objects are: a namespace() is mutated through any
// of its copies. Dicts keep their insertion order (Python 3.7+), which tojson shows.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace empo::text::jinja {

// A failure while rendering (a type error, raise_exception, an unknown name called). The
// renderer adds the template line of the node that failed; line 0 means "not known yet".
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, long line = 0)
      : std::runtime_error(message), line(line) {}
  long line;
};

class Value;
struct Dict;
struct Arguments;

using List = std::vector<Value>;
using Function = std::function<Value(Arguments&)>;

class Value {
 public:
  enum class Kind { undefined, none, boolean, integer, floating, string, list, dict, function };

  Value() = default;  // undefined
  static Value undefined(std::string name = "");
  static Value none();
  Value(bool value);  // NOLINT: literals convert as in Python
  Value(int value);   // NOLINT
  Value(int64_t value);
  Value(double value);
  Value(std::string value);
  Value(const char* value);
  static Value list(List items, bool tuple = false);
  static Value dict(std::shared_ptr<Dict> entries);
  static Value dict();
  // A namespace(): a dict whose entries are also its attributes and may be assigned.
  static Value namespace_object(std::shared_ptr<Dict> entries);
  static Value function(std::string name, Function call);
  static Value from_json(const nlohmann::json& json);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::undefined; }
  bool is_none() const { return kind_ == Kind::none; }
  bool is_string() const { return kind_ == Kind::string; }
  bool is_list() const { return kind_ == Kind::list; }
  bool is_tuple() const { return kind_ == Kind::list && tuple_; }
  bool is_dict() const { return kind_ == Kind::dict; }
  bool is_namespace() const { return kind_ == Kind::dict && namespace_; }
  bool is_function() const { return kind_ == Kind::function; }
  // int, float or bool (Python's bool is an int).
  bool is_number() const;
  bool is_integer() const { return kind_ == Kind::integer || kind_ == Kind::boolean; }

  bool as_bool() const { return boolean_; }
  int64_t as_integer() const;  // bool or int
  double as_double() const;    // any number
  const std::string& as_string() const { return string_; }
  const List& as_list() const { return *list_; }
  Dict& as_dict() const { return *dict_; }
  const std::string& name() const { return string_; }  // of an undefined value or a function
  Value call(Arguments& arguments) const;

  // Python's bool(x); undefined is false.
  bool truthy() const;
  // Python's str(x) as Jinja prints it: None -> "None", undefined -> "".
  std::string str() const;
  // Python's repr(x): strings quoted as Python quotes them, lists and dicts as literals.
  std::string repr() const;
  // Python's len(x) for strings (code points), lists and dicts; throws otherwise.
  int64_t length() const;
  // The items a for loop visits: a list's elements, a dict's keys, a string's characters.
  List iterate() const;

  // One-line description for error messages ("a string", "an undefined value 'x'").
  std::string describe() const;

 private:
  Kind kind_ = Kind::undefined;
  bool boolean_ = false;
  bool tuple_ = false;
  bool namespace_ = false;
  int64_t integer_ = 0;
  double floating_ = 0.0;
  std::string string_;
  std::shared_ptr<List> list_;
  std::shared_ptr<Dict> dict_;
  std::shared_ptr<Function> function_;
};

struct Dict {
  std::vector<std::pair<std::string, Value>> entries;  // insertion order
  const Value* find(const std::string& key) const;
  void set(const std::string& key, Value value);  // replaces in place, or appends
};

// A call's arguments: positional, then keyword (name, value) in call order.
struct Arguments {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
  // The argument at `position` or named `name`; `fallback` when neither was given.
  Value get(size_t position, const std::string& name, Value fallback = Value::undefined()) const;
  // Fails when more than `count` positional arguments or a keyword outside `names` is given.
  void expect(const std::string& callee, size_t count,
              const std::vector<std::string>& names = {}) const;
};

// Python's == (1 == 1.0 == True; lists and dicts compare element-wise).
bool equal(const Value& left, const Value& right);
// Python's <; throws for values Python cannot order.
bool less(const Value& left, const Value& right);

// Python's repr() of a float: the shortest digits that read back the same value.
std::string python_float_repr(double value);
// Python's repr() of a str.
std::string python_string_repr(const std::string& text);

// json.dumps(value, ensure_ascii=False, indent=indent, separators=separators) as transformers'
// tojson filter calls it: indent < 0 means None (one line). Separators default as json.dumps
// does: (", ", ": ") on one line, ("," , ": ") with an indent.
struct JsonFormat {
  int indent = -1;
  std::optional<std::string> item_separator;  // unset: json.dumps' default for the indent
  std::string key_separator = ": ";
  bool sort_keys = false;
};
std::string to_json(const Value& value, const JsonFormat& format = {});

// Python's str.isspace() for one code point (what strip() and split() remove).
bool is_python_whitespace(uint32_t point);

// Unicode code points of a UTF-8 string (ill-formed bytes become U+FFFD) and back.
std::vector<uint32_t> code_points(const std::string& text);
std::string from_code_points(const std::vector<uint32_t>& points, size_t begin, size_t end);

}  // namespace empo::text::jinja
