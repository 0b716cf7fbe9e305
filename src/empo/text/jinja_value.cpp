#include "empo/text/jinja_value.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <utf8proc.h>

#include "empo/text/utf8.h"

namespace empo::text::jinja {

Value Value::undefined(std::string name) {
  Value value;
  value.string_ = std::move(name);
  return value;
}

Value Value::none() {
  Value value;
  value.kind_ = Kind::none;
  return value;
}

Value::Value(bool value) : kind_(Kind::boolean), boolean_(value) {}
Value::Value(int value) : kind_(Kind::integer), integer_(value) {}
Value::Value(int64_t value) : kind_(Kind::integer), integer_(value) {}
Value::Value(double value) : kind_(Kind::floating), floating_(value) {}
Value::Value(std::string value) : kind_(Kind::string), string_(std::move(value)) {}
Value::Value(const char* value) : kind_(Kind::string), string_(value) {}

Value Value::list(List items, bool tuple) {
  Value value;
  value.kind_ = Kind::list;
  value.tuple_ = tuple;
  value.list_ = std::make_shared<List>(std::move(items));
  return value;
}

Value Value::dict(std::shared_ptr<Dict> entries) {
  Value value;
  value.kind_ = Kind::dict;
  value.dict_ = std::move(entries);
  return value;
}

Value Value::dict() {
  return dict(std::make_shared<Dict>());
}

Value Value::namespace_object(std::shared_ptr<Dict> entries) {
  Value value = dict(std::move(entries));
  value.namespace_ = true;
  return value;
}

Value Value::function(std::string name, Function call) {
  Value value;
  value.kind_ = Kind::function;
  value.string_ = std::move(name);
  value.function_ = std::make_shared<Function>(std::move(call));
  return value;
}

Value Value::from_json(const nlohmann::json& json) {
  switch (json.type()) {
    case nlohmann::json::value_t::null:
      return none();
    case nlohmann::json::value_t::boolean:
      return Value(json.get<bool>());
    case nlohmann::json::value_t::number_integer:
      return Value(json.get<int64_t>());
    case nlohmann::json::value_t::number_unsigned:
      return Value(static_cast<int64_t>(json.get<uint64_t>()));
    case nlohmann::json::value_t::number_float:
      return Value(json.get<double>());
    case nlohmann::json::value_t::string:
      return Value(json.get<std::string>());
    case nlohmann::json::value_t::array: {
      List items;
      for (const auto& item : json) items.push_back(from_json(item));
      return list(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      auto entries = std::make_shared<Dict>();
      for (const auto& [key, item] : json.items()) entries->set(key, from_json(item));
      return dict(std::move(entries));
    }
    default:
      return none();
  }
}

bool Value::is_number() const {
  return kind_ == Kind::integer || kind_ == Kind::floating || kind_ == Kind::boolean;
}

int64_t Value::as_integer() const {
  return kind_ == Kind::boolean ? boolean_ : integer_;
}

double Value::as_double() const {
  return kind_ == Kind::floating ? floating_ : static_cast<double>(as_integer());
}

Value Value::call(Arguments& arguments) const {
  return (*function_)(arguments);
}

bool Value::truthy() const {
  switch (kind_) {
    case Kind::undefined:
    case Kind::none:
      return false;
    case Kind::boolean:
      return boolean_;
    case Kind::integer:
      return integer_ != 0;
    case Kind::floating:
      return floating_ != 0.0;
    case Kind::string:
      return !string_.empty();
    case Kind::list:
      return !list_->empty();
    case Kind::dict:
      return namespace_ || !dict_->entries.empty();  // a namespace object has no len()
    case Kind::function:
      return true;
  }
  return false;
}

std::string Value::str() const {
  switch (kind_) {
    case Kind::undefined:
      return "";
    case Kind::string:
      return string_;
    default:
      return repr();
  }
}

std::string Value::repr() const {
  switch (kind_) {
    case Kind::undefined:
      return "Undefined";
    case Kind::none:
      return "None";
    case Kind::boolean:
      return boolean_ ? "True" : "False";
    case Kind::integer:
      return std::to_string(integer_);
    case Kind::floating:
      return python_float_repr(floating_);
    case Kind::string:
      return python_string_repr(string_);
    case Kind::list: {
      std::string text = tuple_ ? "(" : "[";
      for (size_t i = 0; i < list_->size(); ++i) text += (i ? ", " : "") + (*list_)[i].repr();
      if (tuple_ && list_->size() == 1) text += ",";
      return text + (tuple_ ? ")" : "]");
    }
    case Kind::dict: {
      std::string text = namespace_ ? "<Namespace {" : "{";
      for (size_t i = 0; i < dict_->entries.size(); ++i)
        text += (i ? ", " : "") + python_string_repr(dict_->entries[i].first) + ": " +
                dict_->entries[i].second.repr();
      return text + (namespace_ ? "}>" : "}");
    }
    case Kind::function:
      return "<function " + string_ + ">";
  }
  return "";
}

int64_t Value::length() const {
  switch (kind_) {
    case Kind::undefined:
      return 0;
    case Kind::string:
      return static_cast<int64_t>(code_points(string_).size());
    case Kind::list:
      return static_cast<int64_t>(list_->size());
    case Kind::dict:
      if (!namespace_) return static_cast<int64_t>(dict_->entries.size());
      break;
    default:
      break;
  }
  throw Error(describe() + " has no length");
}

List Value::iterate() const {
  switch (kind_) {
    case Kind::undefined:
      return {};
    case Kind::list:
      return *list_;
    case Kind::dict: {
      if (namespace_) break;
      List keys;
      for (const auto& entry : dict_->entries) keys.emplace_back(entry.first);
      return keys;
    }
    case Kind::string: {
      List characters;
      auto points = code_points(string_);
      for (size_t i = 0; i < points.size(); ++i)
        characters.emplace_back(from_code_points(points, i, i + 1));
      return characters;
    }
    default:
      break;
  }
  throw Error(describe() + " is not iterable");
}

std::string Value::describe() const {
  switch (kind_) {
    case Kind::undefined:
      return string_.empty() ? "an undefined value" : "the undefined '" + string_ + "'";
    case Kind::none:
      return "None";
    case Kind::boolean:
      return "a boolean";
    case Kind::integer:
      return "an integer";
    case Kind::floating:
      return "a float";
    case Kind::string:
      return "a string";
    case Kind::list:
      return tuple_ ? "a tuple" : "a list";
    case Kind::dict:
      return namespace_ ? "a namespace" : "a dict";
    case Kind::function:
      return "the function " + string_;
  }
  return "a value";
}

const Value* Dict::find(const std::string& key) const {
  for (const auto& entry : entries)
    if (entry.first == key) return &entry.second;
  return nullptr;
}

void Dict::set(const std::string& key, Value value) {
  for (auto& entry : entries)
    if (entry.first == key) {
      entry.second = std::move(value);
      return;
    }
  entries.emplace_back(key, std::move(value));
}

Value Arguments::get(size_t position, const std::string& name, Value fallback) const {
  if (position < positional.size()) return positional[position];
  for (const auto& [key, value] : keyword)
    if (key == name) return value;
  return fallback;
}

void Arguments::expect(const std::string& callee, size_t count,
                       const std::vector<std::string>& names) const {
  if (positional.size() > count)
    throw Error(callee + " takes at most " + std::to_string(count) + " positional argument" +
                (count == 1 ? "" : "s") + ", got " + std::to_string(positional.size()));
  for (const auto& [key, value] : keyword)
    if (std::find(names.begin(), names.end(), key) == names.end())
      throw Error(callee + " has no argument named '" + key + "'");
}

bool equal(const Value& left, const Value& right) {
  using Kind = Value::Kind;
  if (left.is_number() && right.is_number()) {
    if (left.is_integer() && right.is_integer()) return left.as_integer() == right.as_integer();
    return left.as_double() == right.as_double();
  }
  if (left.kind() != right.kind()) return false;
  switch (left.kind()) {
    case Kind::undefined:
    case Kind::none:
      return true;
    case Kind::string:
      return left.as_string() == right.as_string();
    case Kind::list: {
      const List& a = left.as_list();
      const List& b = right.as_list();
      if (a.size() != b.size() || left.is_tuple() != right.is_tuple()) return false;
      for (size_t i = 0; i < a.size(); ++i)
        if (!equal(a[i], b[i])) return false;
      return true;
    }
    case Kind::dict: {
      if (left.is_namespace() || right.is_namespace()) return &left.as_dict() == &right.as_dict();
      const Dict& a = left.as_dict();
      const Dict& b = right.as_dict();
      if (a.entries.size() != b.entries.size()) return false;
      for (const auto& [key, value] : a.entries) {
        const Value* other = b.find(key);
        if (!other || !equal(value, *other)) return false;
      }
      return true;
    }
    case Kind::function:
      return left.name() == right.name();
    default:
      return false;
  }
}

bool less(const Value& left, const Value& right) {
  if (left.is_number() && right.is_number()) {
    if (left.is_integer() && right.is_integer()) return left.as_integer() < right.as_integer();
    return left.as_double() < right.as_double();
  }
  // UTF-8 byte order is code point order, which is how Python orders str.
  if (left.is_string() && right.is_string()) return left.as_string() < right.as_string();
  if (left.is_list() && right.is_list()) {
    const List& a = left.as_list();
    const List& b = right.as_list();
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
      if (less(a[i], b[i])) return true;
      if (less(b[i], a[i])) return false;
    }
    return a.size() < b.size();
  }
  throw Error("cannot order " + left.describe() + " and " + right.describe());
}

std::string python_float_repr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  if (value == 0.0) return std::signbit(value) ? "-0.0" : "0.0";
  // The shortest scientific form that reads back as the same double.
  char buffer[64];
  for (int precision = 0; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof buffer, "%.*e", precision, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  std::string scientific = buffer;
  const bool negative = scientific[0] == '-';
  if (negative) scientific.erase(0, 1);
  const size_t e = scientific.find('e');
  const int exponent = std::atoi(scientific.c_str() + e + 1);
  std::string digits;
  for (size_t i = 0; i < e; ++i)
    if (scientific[i] != '.') digits += scientific[i];
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  std::string text;
  // Python's repr switches to an exponent below 1e-4 and from 1e16 on.
  if (exponent < -4 || exponent >= 16) {
    text = digits.substr(0, 1);
    if (digits.size() > 1) text += "." + digits.substr(1);
    char exponent_text[16];
    std::snprintf(exponent_text, sizeof exponent_text, "e%c%02d", exponent < 0 ? '-' : '+',
                  std::abs(exponent));
    text += exponent_text;
  } else if (exponent < 0) {
    text = "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
  } else {
    const size_t integer_digits = static_cast<size_t>(exponent) + 1;
    if (digits.size() <= integer_digits)
      text = digits + std::string(integer_digits - digits.size(), '0') + ".0";
    else
      text = digits.substr(0, integer_digits) + "." + digits.substr(integer_digits);
  }
  return negative ? "-" + text : text;
}

namespace {

// Python's str.isprintable() for one code point (what repr() leaves unescaped).
bool printable(uint32_t point) {
  if (point == ' ') return true;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(point))) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
    case UTF8PROC_CATEGORY_ZS:
      return false;
    default:
      return true;
  }
}

void append_hex(std::string& out, const char* prefix, uint32_t point, int width) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%s%0*x", prefix, width, point);
  out += buffer;
}

}  // namespace

std::string python_string_repr(const std::string& text) {
  const bool has_single = text.find('\'') != std::string::npos;
  const bool has_double = text.find('"') != std::string::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (uint32_t point : code_points(text)) {
    if (point == static_cast<uint32_t>(quote) || point == '\\') {
      out += '\\';
      out += static_cast<char>(point);
    } else if (point == '\n') {
      out += "\\n";
    } else if (point == '\r') {
      out += "\\r";
    } else if (point == '\t') {
      out += "\\t";
    } else if (printable(point)) {
      append_utf8(point, out);
    } else if (point < 0x100) {
      append_hex(out, "\\x", point, 2);
    } else if (point < 0x10000) {
      append_hex(out, "\\u", point, 4);
    } else {
      append_hex(out, "\\U", point, 8);
    }
  }
  return out + quote;
}

namespace {

void append_json_string(const std::string& text, std::string& out) {
  out += '"';
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20)
          append_hex(out, "\\u", static_cast<unsigned char>(c), 4);
        else
          out += c;
    }
  }
  out += '"';
}

void append_json(const Value& value, const JsonFormat& format, int depth, std::string& out) {
  const std::string item_separator =
      format.item_separator ? *format.item_separator : (format.indent >= 0 ? "," : ", ");
  auto newline = [&](int level) {
    if (format.indent < 0) return;
    out += '\n';
    out += std::string(static_cast<size_t>(format.indent * level), ' ');
  };
  switch (value.kind()) {
    case Value::Kind::none:
      out += "null";
      return;
    case Value::Kind::boolean:
      out += value.as_bool() ? "true" : "false";
      return;
    case Value::Kind::integer:
      out += std::to_string(value.as_integer());
      return;
    case Value::Kind::floating: {
      const double number = value.as_double();
      if (std::isnan(number))
        out += "NaN";
      else if (std::isinf(number))
        out += number > 0 ? "Infinity" : "-Infinity";
      else
        out += python_float_repr(number);
      return;
    }
    case Value::Kind::string:
      append_json_string(value.as_string(), out);
      return;
    case Value::Kind::list: {
      const List& items = value.as_list();
      if (items.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += item_separator;
        newline(depth + 1);
        append_json(items[i], format, depth + 1, out);
      }
      newline(depth);
      out += ']';
      return;
    }
    case Value::Kind::dict: {
      if (value.is_namespace()) break;
      auto entries = value.as_dict().entries;
      if (format.sort_keys)
        std::stable_sort(entries.begin(), entries.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
      if (entries.empty()) {
        out += "{}";
        return;
      }
      out += '{';
      for (size_t i = 0; i < entries.size(); ++i) {
        if (i) out += item_separator;
        newline(depth + 1);
        append_json_string(entries[i].first, out);
        out += format.key_separator;
        append_json(entries[i].second, format, depth + 1, out);
      }
      newline(depth);
      out += '}';
      return;
    }
    default:
      break;
  }
  throw Error(value.describe() + " is not JSON serializable");
}

}  // namespace

std::string to_json(const Value& value, const JsonFormat& format) {
  std::string out;
  append_json(value, format, 0, out);
  return out;
}

bool is_python_whitespace(uint32_t point) {
  if ((point >= 0x09 && point <= 0x0D) || (point >= 0x1C && point <= 0x20)) return true;
  switch (point) {
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return point >= 0x2000 && point <= 0x200A;
  }
}

std::vector<uint32_t> code_points(const std::string& text) {
  std::vector<uint32_t> points;
  points.reserve(text.size());
  for (size_t position = 0; position < text.size();) {
    uint32_t point = 0;
    size_t length = decode_utf8_character(text, position, point);
    if (length == 0) {
      points.push_back(0xFFFD);
      ++position;
    } else {
      points.push_back(point);
      position += length;
    }
  }
  return points;
}

std::string from_code_points(const std::vector<uint32_t>& points, size_t begin, size_t end) {
  std::string text;
  for (size_t i = begin; i < end && i < points.size(); ++i) append_utf8(points[i], text);
  return text;
}

}  // namespace empo::text::jinja
