#include "empo/text/jinja_builtins.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <ctime>

#include <utf8proc.h>

#include "empo/text/utf8.h"

namespace empo::text::jinja {
namespace {

// Bounds that keep a hostile template from exhausting memory (a fuzzed one, or a typo such
// as range(10**12)); no chat template comes near them.
constexpr int64_t kMaxRange = 1 << 20;
constexpr size_t kMaxString = size_t{1} << 26;

std::string required_string(const Value& value, const std::string& what) {
  if (!value.is_string()) throw Error(what + " must be a string, not " + value.describe());
  return value.as_string();
}

int64_t required_integer(const Value& value, const std::string& what) {
  if (!value.is_integer()) throw Error(what + " must be an integer, not " + value.describe());
  return value.as_integer();
}

uint32_t to_upper(uint32_t point) {
  return static_cast<uint32_t>(utf8proc_toupper(static_cast<utf8proc_int32_t>(point)));
}
uint32_t to_lower(uint32_t point) {
  return static_cast<uint32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(point)));
}
bool is_cased(uint32_t point) {
  return to_upper(point) != point || to_lower(point) != point;
}

std::string map_case(const std::string& text, uint32_t (*change)(uint32_t)) {
  auto points = code_points(text);
  for (auto& point : points) point = change(point);
  return from_code_points(points, 0, points.size());
}

// Python's str.title(): a cased character after an uncased one is upper case, others lower.
std::string python_title(const std::string& text) {
  auto points = code_points(text);
  bool previous_cased = false;
  for (auto& point : points) {
    const bool cased = is_cased(point);
    point = previous_cased ? to_lower(point) : to_upper(point);
    previous_cased = cased;
  }
  return from_code_points(points, 0, points.size());
}

std::string python_capitalize(const std::string& text) {
  auto points = code_points(text);
  for (size_t i = 0; i < points.size(); ++i)
    points[i] = i == 0 ? to_upper(points[i]) : to_lower(points[i]);
  return from_code_points(points, 0, points.size());
}

std::string python_replace(const std::string& text, const std::string& old_text,
                           const std::string& new_text, int64_t count) {
  std::string out;
  if (old_text.empty()) {  // Python inserts new_text around every character
    auto points = code_points(text);
    int64_t done = 0;
    for (size_t i = 0; i <= points.size(); ++i) {
      if (count < 0 || done < count) {
        out += new_text;
        ++done;
      }
      if (i < points.size()) out += from_code_points(points, i, i + 1);
      if (out.size() > kMaxString) throw Error("replace() result too long");
    }
    return out;
  }
  size_t from = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    const size_t found = text.find(old_text, from);
    if (found == std::string::npos) break;
    out.append(text, from, found - from);
    out += new_text;
    if (out.size() > kMaxString) throw Error("replace() result too long");
    from = found + old_text.size();
    ++done;
  }
  out.append(text, from, std::string::npos);
  return out;
}

Value make_string_list(const std::vector<std::string>& parts) {
  List items;
  for (const auto& part : parts) items.emplace_back(part);
  return Value::list(std::move(items));
}

// Python's str.split / str.rsplit.
Value python_split(const std::string& text, const Value& separator, int64_t max_split,
                   bool from_right) {
  std::vector<std::string> parts;
  if (separator.is_none() || separator.is_undefined()) {
    auto points = code_points(text);
    std::vector<std::pair<size_t, size_t>> words;  // [begin, end) in code points
    size_t i = 0;
    while (i < points.size()) {
      while (i < points.size() && is_python_whitespace(points[i])) ++i;
      if (i == points.size()) break;
      size_t begin = i;
      while (i < points.size() && !is_python_whitespace(points[i])) ++i;
      words.emplace_back(begin, i);
    }
    if (max_split >= 0 && static_cast<int64_t>(words.size()) > max_split + 1) {
      // The unsplit remainder keeps its inner whitespace (and, from the right, its start).
      if (from_right) {
        const size_t keep = words.size() - static_cast<size_t>(max_split);
        std::vector<std::pair<size_t, size_t>> merged{{words[0].first, words[keep - 1].second}};
        merged.insert(merged.end(), words.begin() + static_cast<long>(keep), words.end());
        words = merged;
      } else {
        size_t rest_begin = words[static_cast<size_t>(max_split)].first;
        size_t rest_end = points.size();
        while (rest_end > rest_begin && is_python_whitespace(points[rest_end - 1])) --rest_end;
        words.resize(static_cast<size_t>(max_split));
        words.emplace_back(rest_begin, rest_end);
      }
    }
    for (const auto& [begin, end] : words) parts.push_back(from_code_points(points, begin, end));
    return make_string_list(parts);
  }
  const std::string sep = required_string(separator, "split()'s separator");
  if (sep.empty()) throw Error("split() got an empty separator");
  if (!from_right) {
    size_t from = 0;
    int64_t done = 0;
    while (max_split < 0 || done < max_split) {
      const size_t found = text.find(sep, from);
      if (found == std::string::npos) break;
      parts.push_back(text.substr(from, found - from));
      from = found + sep.size();
      ++done;
    }
    parts.push_back(text.substr(from));
  } else {
    size_t end = text.size();
    int64_t done = 0;
    while (max_split < 0 || done < max_split) {
      if (end < sep.size()) break;
      const size_t found = text.rfind(sep, end - sep.size());
      if (found == std::string::npos) break;
      parts.insert(parts.begin(), text.substr(found + sep.size(), end - found - sep.size()));
      end = found;
      ++done;
    }
    parts.insert(parts.begin(), text.substr(0, end));
  }
  return make_string_list(parts);
}

bool starts_or_ends(const std::string& text, const Value& affixes, bool start) {
  auto one = [&](const Value& affix) {
    const std::string& candidate =
        required_string(affix, start ? "startswith()'s prefix" : "endswith()'s suffix");
    if (candidate.size() > text.size()) return false;
    return start ? text.compare(0, candidate.size(), candidate) == 0
                 : text.compare(text.size() - candidate.size(), candidate.size(), candidate) == 0;
  };
  if (affixes.is_tuple()) {
    for (const Value& affix : affixes.as_list())
      if (one(affix)) return true;
    return false;
  }
  return one(affixes);
}

int64_t find_count(const std::string& text, const std::string& needle) {
  if (needle.empty()) return static_cast<int64_t>(code_points(text).size()) + 1;
  int64_t count = 0;
  for (size_t from = text.find(needle); from != std::string::npos;
       from = text.find(needle, from + needle.size()))
    ++count;
  return count;
}

Value string_join(const std::string& separator, const Value& items) {
  std::string out;
  bool first = true;
  for (const Value& item : items.iterate()) {
    if (!first) out += separator;
    first = false;
    out += item.str();
    if (out.size() > kMaxString) throw Error("join() result too long");
  }
  return Value(out);
}

Value string_method(const std::string& text, const std::string& method, Arguments& arguments) {
  const std::string callee = "str." + method + "()";
  if (method == "startswith" || method == "endswith") {
    arguments.expect(callee, 1);
    return Value(starts_or_ends(text, arguments.get(0, ""), method == "startswith"));
  }
  if (method == "strip" || method == "lstrip" || method == "rstrip") {
    arguments.expect(callee, 1);
    return Value(python_strip(text, arguments.get(0, "", Value::none()), method != "rstrip",
                              method != "lstrip"));
  }
  if (method == "split" || method == "rsplit") {
    arguments.expect(callee, 2, {"sep", "maxsplit"});
    const Value max_split = arguments.get(1, "maxsplit", Value(-1));
    return python_split(text, arguments.get(0, "sep", Value::none()),
                        required_integer(max_split, "maxsplit"), method == "rsplit");
  }
  if (method == "upper" || method == "lower" || method == "title" || method == "capitalize") {
    arguments.expect(callee, 0);
    if (method == "upper") return Value(map_case(text, to_upper));
    if (method == "lower") return Value(map_case(text, to_lower));
    if (method == "title") return Value(python_title(text));
    return Value(python_capitalize(text));
  }
  if (method == "replace") {
    arguments.expect(callee, 3, {"count"});
    return Value(python_replace(text, required_string(arguments.get(0, ""), "replace()'s old"),
                                required_string(arguments.get(1, ""), "replace()'s new"),
                                required_integer(arguments.get(2, "count", Value(-1)), "count")));
  }
  if (method == "join") {
    arguments.expect(callee, 1);
    return string_join(text, arguments.get(0, ""));
  }
  if (method == "find" || method == "count") {
    arguments.expect(callee, 1);
    const std::string needle = required_string(arguments.get(0, ""), callee + "'s argument");
    if (method == "count") return Value(find_count(text, needle));
    const size_t found = text.find(needle);
    if (found == std::string::npos) return Value(-1);
    return Value(static_cast<int64_t>(code_points(text.substr(0, found)).size()));
  }
  throw Error("unknown string method '" + method + "'");
}

Value dict_method(const Value& object, const std::string& method, Arguments& arguments) {
  const Dict& entries = object.as_dict();
  if (method == "get") {
    arguments.expect("dict.get()", 2);
    const Value key = arguments.get(0, "");
    if (key.is_string())
      if (const Value* found = entries.find(key.as_string())) return *found;
    return arguments.get(1, "", Value::none());
  }
  arguments.expect("dict." + method + "()", 0);
  List items;
  for (const auto& [key, value] : entries.entries) {
    if (method == "keys")
      items.emplace_back(key);
    else if (method == "values")
      items.push_back(value);
    else
      items.push_back(Value::list({Value(key), value}, true));
  }
  return Value::list(std::move(items));
}

bool is_string_method(const std::string& name) {
  static const char* const kMethods[] = {"startswith", "endswith", "strip", "lstrip", "rstrip",
                                         "split",      "rsplit",   "upper", "lower",  "title",
                                         "capitalize", "replace",  "join",  "find",   "count"};
  return std::any_of(std::begin(kMethods), std::end(kMethods),
                     [&](const char* method) { return name == method; });
}

// Python's index rules: negative counts from the end; out of range is nullopt.
bool normalize_index(int64_t index, int64_t size, int64_t& out) {
  if (index < 0) index += size;
  if (index < 0 || index >= size) return false;
  out = index;
  return true;
}

// Follows a selectattr/map attribute path ("a.b", "0").
Value attribute_path(const Value& object, const std::string& path) {
  Value current = object;
  size_t from = 0;
  while (from <= path.size()) {
    const size_t dot = path.find('.', from);
    const std::string part =
        path.substr(from, dot == std::string::npos ? std::string::npos : dot - from);
    const bool numeric = !part.empty() && std::all_of(part.begin(), part.end(),
                                                      [](char c) { return c >= '0' && c <= '9'; });
    current = numeric ? get_item(current, Value(static_cast<int64_t>(std::atoll(part.c_str()))))
                      : get_item(current, Value(part));
    if (dot == std::string::npos) break;
    from = dot + 1;
  }
  return current;
}

Arguments rest_of(const Arguments& arguments, size_t first) {
  Arguments rest;
  for (size_t i = first; i < arguments.positional.size(); ++i)
    rest.positional.push_back(arguments.positional[i]);
  rest.keyword = arguments.keyword;
  return rest;
}

// select / reject / selectattr / rejectattr.
Value select_items(const Value& value, Arguments& arguments, bool by_attribute, bool keep) {
  const size_t test_position = by_attribute ? 1 : 0;
  std::string attribute;
  if (by_attribute) attribute = required_string(arguments.get(0, ""), "selectattr's attribute");
  const Value test = arguments.get(test_position, "");
  Arguments test_arguments = rest_of(arguments, test_position + 1);
  List kept;
  for (const Value& item : value.iterate()) {
    const Value subject = by_attribute ? attribute_path(item, attribute) : item;
    bool passes = test.is_undefined()
                      ? subject.truthy()
                      : apply_test(required_string(test, "the test name"), subject, test_arguments);
    if (passes == keep) kept.push_back(item);
  }
  return Value::list(std::move(kept));
}

Value map_items(const Value& value, Arguments& arguments) {
  List mapped;
  const Value attribute = arguments.get(99, "attribute");
  if (!attribute.is_undefined()) {
    const Value fallback = arguments.get(99, "default");
    const std::string path = attribute.is_integer() ? std::to_string(attribute.as_integer())
                                                    : required_string(attribute, "map's attribute");
    for (const Value& item : value.iterate()) {
      Value found = attribute_path(item, path);
      mapped.push_back(found.is_undefined() && !fallback.is_undefined() ? fallback : found);
    }
    return Value::list(std::move(mapped));
  }
  const std::string filter = required_string(arguments.get(0, ""), "map's filter name");
  Arguments filter_arguments = rest_of(arguments, 1);
  for (const Value& item : value.iterate())
    mapped.push_back(apply_filter(filter, item, filter_arguments));
  return Value::list(std::move(mapped));
}

std::string indent_text(const std::string& text, const Value& width, bool first, bool blank) {
  const std::string prefix =
      width.is_string() ? width.as_string()
                        : std::string(static_cast<size_t>(std::clamp<int64_t>(
                                          required_integer(width, "indent's width"), 0, 1024)),
                                      ' ');
  std::string out;
  size_t from = 0;
  bool first_line = true;
  while (true) {
    const size_t newline = text.find('\n', from);
    const std::string line =
        text.substr(from, newline == std::string::npos ? std::string::npos : newline - from);
    const bool indent = (first_line ? first : true) && (blank || !line.empty());
    if (indent) out += prefix;
    out += line;
    if (newline == std::string::npos) break;
    out += '\n';
    from = newline + 1;
    first_line = false;
    if (out.size() > kMaxString) throw Error("indent result too long");
  }
  return out;
}

JsonFormat json_format(Arguments& arguments) {
  arguments.expect("tojson", 1, {"indent", "separators", "sort_keys", "ensure_ascii"});
  JsonFormat format;
  const Value indent = arguments.get(0, "indent", Value::none());
  if (indent.is_integer())
    format.indent = static_cast<int>(std::clamp<int64_t>(indent.as_integer(), 0, 64));
  else if (indent.is_string())
    throw Error("tojson's indent must be an integer");
  const Value separators = arguments.get(99, "separators", Value::none());
  if (separators.is_list()) {
    if (separators.as_list().size() != 2) throw Error("tojson's separators must be a pair");
    format.item_separator = required_string(separators.as_list()[0], "a separator");
    format.key_separator = required_string(separators.as_list()[1], "a separator");
  }
  format.sort_keys = arguments.get(99, "sort_keys", Value(false)).truthy();
  if (arguments.get(99, "ensure_ascii", Value(false)).truthy())
    throw Error("tojson(ensure_ascii=true) is not supported");
  return format;
}

}  // namespace

std::string python_strip(const std::string& text, const Value& chars, bool left, bool right) {
  auto points = code_points(text);
  std::vector<uint32_t> strip_set;
  const bool whitespace = chars.is_none() || chars.is_undefined();
  if (!whitespace) strip_set = code_points(required_string(chars, "strip()'s characters"));
  auto strips = [&](uint32_t point) {
    return whitespace ? is_python_whitespace(point)
                      : std::find(strip_set.begin(), strip_set.end(), point) != strip_set.end();
  };
  size_t begin = 0, end = points.size();
  if (left)
    while (begin < end && strips(points[begin])) ++begin;
  if (right)
    while (end > begin && strips(points[end - 1])) --end;
  return from_code_points(points, begin, end);
}

Value get_attribute(const Value& object, const std::string& name) {
  if (object.is_undefined()) throw Error("cannot read ." + name + " of " + object.describe());
  if (object.is_namespace()) {
    const Value* found = object.as_dict().find(name);
    return found ? *found : Value::undefined(name);
  }
  if (object.is_dict()) {
    if (name == "get" || name == "items" || name == "keys" || name == "values")
      return Value::function("dict." + name, [object, name](Arguments& arguments) {
        return dict_method(object, name, arguments);
      });
    const Value* found = object.as_dict().find(name);
    return found ? *found : Value::undefined(name);
  }
  if (object.is_string() && is_string_method(name)) {
    const std::string text = object.as_string();
    return Value::function("str." + name, [text, name](Arguments& arguments) {
      return string_method(text, name, arguments);
    });
  }
  return Value::undefined(name);
}

Value get_item(const Value& object, const Value& key) {
  if (object.is_undefined()) throw Error("cannot index " + object.describe());
  if (object.is_dict()) {
    if (!key.is_string()) return Value::undefined();
    return object.is_namespace() ? get_attribute(object, key.as_string()) : [&] {
      const Value* found = object.as_dict().find(key.as_string());
      return found ? *found : Value::undefined(key.as_string());
    }();
  }
  if ((object.is_list() || object.is_string()) && key.is_integer()) {
    int64_t index = 0;
    if (object.is_list()) {
      const List& items = object.as_list();
      if (!normalize_index(key.as_integer(), static_cast<int64_t>(items.size()), index))
        return Value::undefined();
      return items[static_cast<size_t>(index)];
    }
    auto points = code_points(object.as_string());
    if (!normalize_index(key.as_integer(), static_cast<int64_t>(points.size()), index))
      return Value::undefined();
    return Value(
        from_code_points(points, static_cast<size_t>(index), static_cast<size_t>(index) + 1));
  }
  if (key.is_string()) return get_attribute(object, key.as_string());
  return Value::undefined();
}

Value slice(const Value& object, const Value& start, const Value& stop, const Value& step) {
  if (!object.is_list() && !object.is_string()) throw Error("cannot slice " + object.describe());
  auto part = [](const Value& value, const char* what, int64_t fallback) {
    if (value.is_none() || value.is_undefined()) return fallback;
    return required_integer(value, std::string("a slice's ") + what);
  };
  const int64_t stride = part(step, "step", 1);
  if (stride == 0) throw Error("slice step cannot be zero");
  std::vector<uint32_t> points;
  if (object.is_string()) points = code_points(object.as_string());
  const int64_t size = object.is_list() ? static_cast<int64_t>(object.as_list().size())
                                        : static_cast<int64_t>(points.size());
  // Python's slice.indices().
  auto clamp_bound = [&](int64_t value, bool is_start) {
    if (value < 0) {
      value += size;
      if (value < 0) value = stride < 0 ? -1 : 0;
    } else if (value >= size) {
      value = stride < 0 ? size - 1 : size;
    }
    (void)is_start;
    return value;
  };
  int64_t begin = start.is_none() || start.is_undefined()
                      ? (stride < 0 ? size - 1 : 0)
                      : clamp_bound(part(start, "start", 0), true);
  int64_t end = stop.is_none() || stop.is_undefined() ? (stride < 0 ? -1 : size)
                                                      : clamp_bound(part(stop, "stop", 0), false);
  std::vector<int64_t> indices;
  for (int64_t i = begin; stride > 0 ? i < end : i > end; i += stride) {
    indices.push_back(i);
    if (stride > 0 ? i > INT64_MAX - stride : i < INT64_MIN - stride) break;
  }
  if (object.is_list()) {
    List items;
    for (int64_t i : indices) items.push_back(object.as_list()[static_cast<size_t>(i)]);
    return Value::list(std::move(items), object.is_tuple());
  }
  std::string text;
  for (int64_t i : indices) append_utf8(points[static_cast<size_t>(i)], text);
  return Value(text);
}

bool contains(const Value& container, const Value& item) {
  if (container.is_undefined()) return false;
  if (container.is_string()) {
    if (!item.is_string())
      throw Error("'in <string>' needs a string on the left, not " + item.describe());
    return container.as_string().find(item.as_string()) != std::string::npos;
  }
  if (container.is_list()) {
    for (const Value& element : container.as_list())
      if (equal(element, item)) return true;
    return false;
  }
  if (container.is_dict() && !container.is_namespace())
    return item.is_string() && container.as_dict().find(item.as_string()) != nullptr;
  throw Error("'in' needs a container on the right, not " + container.describe());
}

Value apply_filter(const std::string& name, const Value& value, Arguments& arguments) {
  if (name == "trim") {
    arguments.expect("trim", 1, {"chars"});
    return Value(python_strip(value.str(), arguments.get(0, "chars", Value::none()), true, true));
  }
  if (name == "length" || name == "count") {
    arguments.expect(name, 0);
    return Value(value.length());
  }
  if (name == "tojson") return Value(to_json(value, json_format(arguments)));
  if (name == "string") {
    arguments.expect(name, 0);
    return Value(value.str());
  }
  if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
    arguments.expect(name, 0);
    return string_method(value.str(), name, arguments);
  }
  if (name == "replace") {
    arguments.expect(name, 3, {"old", "new", "count"});
    return Value(python_replace(value.str(),
                                required_string(arguments.get(0, "old"), "replace's old"),
                                required_string(arguments.get(1, "new"), "replace's new"),
                                arguments.get(2, "count", Value::none()).is_none()
                                    ? -1
                                    : required_integer(arguments.get(2, "count"), "count")));
  }
  if (name == "join") {
    arguments.expect(name, 2, {"d", "attribute"});
    const Value attribute = arguments.get(1, "attribute");
    Value items = value;
    if (!attribute.is_undefined()) {
      Arguments map_arguments;
      map_arguments.keyword.emplace_back("attribute", attribute);
      items = map_items(value, map_arguments);
    }
    return string_join(arguments.get(0, "d", Value("")).str(), items);
  }
  if (name == "default" || name == "d") {
    arguments.expect(name, 2, {"default_value", "boolean"});
    const bool boolean = arguments.get(1, "boolean", Value(false)).truthy();
    const bool missing = boolean ? !value.truthy() : value.is_undefined();
    return missing ? arguments.get(0, "default_value", Value("")) : value;
  }
  if (name == "items") {
    arguments.expect(name, 0);
    if (value.is_undefined()) return Value::list({});
    if (!value.is_dict() || value.is_namespace())
      throw Error("the items filter needs a dict, not " + value.describe());
    Arguments none;
    return dict_method(value, "items", none);
  }
  if (name == "list") {
    arguments.expect(name, 0);
    return Value::list(value.iterate());
  }
  if (name == "first" || name == "last") {
    arguments.expect(name, 0);
    List items = value.iterate();
    if (items.empty()) return Value::undefined("no " + name + " item");
    return name == "first" ? items.front() : items.back();
  }
  if (name == "reverse") {
    arguments.expect(name, 0);
    if (value.is_string()) return slice(value, Value::none(), Value::none(), Value(-1));
    List items = value.iterate();
    std::reverse(items.begin(), items.end());
    return Value::list(std::move(items));
  }
  if (name == "selectattr" || name == "rejectattr")
    return select_items(value, arguments, true, name == "selectattr");
  if (name == "select" || name == "reject")
    return select_items(value, arguments, false, name == "select");
  if (name == "map") return map_items(value, arguments);
  if (name == "safe") {
    arguments.expect(name, 0);
    return value;
  }
  if (name == "int") {
    arguments.expect(name, 1, {"default"});
    if (value.is_integer()) return Value(value.as_integer());
    if (value.is_number()) return Value(static_cast<int64_t>(value.as_double()));
    if (value.is_string()) {
      const std::string text = python_strip(value.as_string(), Value::none(), true, true);
      char* end = nullptr;
      errno = 0;
      const long long parsed = std::strtoll(text.c_str(), &end, 10);
      if (!text.empty() && end && *end == '\0' && errno == 0)
        return Value(static_cast<int64_t>(parsed));
    }
    return arguments.get(0, "default", Value(0));
  }
  if (name == "float") {
    arguments.expect(name, 1, {"default"});
    if (value.is_number()) return Value(value.as_double());
    if (value.is_string()) {
      const std::string text = python_strip(value.as_string(), Value::none(), true, true);
      char* end = nullptr;
      const double parsed = std::strtod(text.c_str(), &end);
      if (!text.empty() && end && *end == '\0') return Value(parsed);
    }
    return arguments.get(0, "default", Value(0.0));
  }
  if (name == "abs") {
    arguments.expect(name, 0);
    if (value.is_integer()) {
      if (value.as_integer() == INT64_MIN) throw Error("integer overflow in abs");
      return Value(value.as_integer() < 0 ? -value.as_integer() : value.as_integer());
    }
    if (value.is_number())
      return Value(value.as_double() < 0 ? -value.as_double() : value.as_double());
    throw Error("abs needs a number, not " + value.describe());
  }
  if (name == "indent") {
    arguments.expect(name, 3, {"width", "first", "blank"});
    return Value(indent_text(value.str(), arguments.get(0, "width", Value(4)),
                             arguments.get(1, "first", Value(false)).truthy(),
                             arguments.get(2, "blank", Value(false)).truthy()));
  }
  if (name == "sort") {
    arguments.expect(name, 3, {"reverse", "case_sensitive", "attribute"});
    List items = value.iterate();
    const Value attribute = arguments.get(2, "attribute");
    auto key = [&](const Value& item) {
      Value found = attribute.is_undefined() ? item : attribute_path(item, attribute.str());
      // Jinja2 sorts strings case-insensitively unless case_sensitive is given.
      if (found.is_string() && !arguments.get(1, "case_sensitive", Value(false)).truthy())
        return Value(map_case(found.as_string(), to_lower));
      return found;
    };
    std::stable_sort(items.begin(), items.end(),
                     [&](const Value& a, const Value& b) { return less(key(a), key(b)); });
    if (arguments.get(0, "reverse", Value(false)).truthy())
      std::reverse(items.begin(), items.end());
    return Value::list(std::move(items));
  }
  throw Error("unknown filter '" + name + "'");
}

bool apply_test(const std::string& name, const Value& value, Arguments& arguments) {
  auto no_arguments = [&]() { arguments.expect("the test '" + name + "'", 0); };
  auto other = [&]() {
    arguments.expect("the test '" + name + "'", 1);
    if (arguments.positional.empty()) throw Error("the test '" + name + "' needs an argument");
    return arguments.positional[0];
  };
  using Kind = Value::Kind;
  if (name == "defined") return no_arguments(), !value.is_undefined();
  if (name == "undefined") return no_arguments(), value.is_undefined();
  if (name == "none") return no_arguments(), value.is_none();
  if (name == "boolean") return no_arguments(), value.kind() == Kind::boolean;
  if (name == "true") return no_arguments(), value.kind() == Kind::boolean && value.as_bool();
  if (name == "false") return no_arguments(), value.kind() == Kind::boolean && !value.as_bool();
  if (name == "integer") return no_arguments(), value.kind() == Kind::integer;
  if (name == "float") return no_arguments(), value.kind() == Kind::floating;
  if (name == "number") return no_arguments(), value.is_number();
  if (name == "string") return no_arguments(), value.is_string();
  if (name == "mapping") return no_arguments(), value.is_dict() && !value.is_namespace();
  if (name == "iterable" || name == "sequence")
    return no_arguments(), value.is_undefined() || value.is_string() || value.is_list() ||
                               (value.is_dict() && !value.is_namespace());
  if (name == "callable") return no_arguments(), value.is_function();
  if (name == "lower" || name == "upper") {
    no_arguments();
    if (!value.is_string()) return false;
    const std::string& text = value.as_string();
    return name == "lower" ? map_case(text, to_lower) == text : map_case(text, to_upper) == text;
  }
  if (name == "odd" || name == "even") {
    no_arguments();
    const int64_t number = required_integer(value, "the tested value");
    return (number % 2 != 0) == (name == "odd");
  }
  if (name == "divisibleby") {
    const int64_t divisor = required_integer(other(), "divisibleby's argument");
    if (divisor == 0) throw Error("divisibleby 0");
    if (divisor == -1) return true;
    return required_integer(value, "the tested value") % divisor == 0;
  }
  if (name == "eq" || name == "equalto" || name == "==") return equal(value, other());
  if (name == "ne" || name == "!=") return !equal(value, other());
  if (name == "lt" || name == "lessthan" || name == "<") return less(value, other());
  if (name == "gt" || name == "greaterthan" || name == ">") return less(other(), value);
  if (name == "le" || name == "<=") return !less(other(), value);
  if (name == "ge" || name == ">=") return !less(value, other());
  if (name == "in") return contains(other(), value);
  if (name == "sameas") {
    const Value right = other();
    if (value.kind() != right.kind()) return false;
    if (value.is_none() || value.is_undefined()) return true;
    if (value.kind() == Kind::boolean) return value.as_bool() == right.as_bool();
    if (value.is_list()) return &value.as_list() == &right.as_list();
    if (value.is_dict()) return &value.as_dict() == &right.as_dict();
    return equal(value, right);
  }
  throw Error("unknown test '" + name + "'");
}

std::string fixed_strftime(const std::string& format) {
  std::tm date{};
  date.tm_year = 2024 - 1900;
  date.tm_mon = 6;  // July
  date.tm_mday = 26;
  date.tm_wday = 5;    // a Friday
  date.tm_yday = 207;  // 0-based day of the year
  std::string out(format.size() * 8 + 64, '\0');
  if (format.empty()) return "";
  const size_t length = std::strftime(out.data(), out.size(), format.c_str(), &date);
  if (length == 0) throw Error("strftime_now: cannot format \"" + format + "\"");
  out.resize(length);
  return out;
}

Dict global_functions() {
  Dict globals;
  globals.set("raise_exception",
              Value::function("raise_exception", [](Arguments& arguments) -> Value {
                arguments.expect("raise_exception", 1);
                throw Error("the template raised: " + arguments.get(0, "").str());
              }));
  globals.set("strftime_now", Value::function("strftime_now", [](Arguments& arguments) {
                arguments.expect("strftime_now", 1);
                return Value(fixed_strftime(required_string(arguments.get(0, ""), "the format")));
              }));
  auto keyword_dict = [](Arguments& arguments, const std::string& callee) {
    auto entries = std::make_shared<Dict>();
    arguments.expect(callee, 1, [&] {
      std::vector<std::string> names;
      for (const auto& [key, value] : arguments.keyword) names.push_back(key);
      return names;
    }());
    if (!arguments.positional.empty()) {
      const Value& initial = arguments.positional[0];
      if (!initial.is_dict() || initial.is_namespace())
        throw Error(callee + "'s positional argument must be a dict");
      for (const auto& [key, value] : initial.as_dict().entries) entries->set(key, value);
    }
    for (const auto& [key, value] : arguments.keyword) entries->set(key, value);
    return entries;
  };
  globals.set("namespace", Value::function("namespace", [keyword_dict](Arguments& arguments) {
                return Value::namespace_object(keyword_dict(arguments, "namespace"));
              }));
  globals.set("dict", Value::function("dict", [keyword_dict](Arguments& arguments) {
                return Value::dict(keyword_dict(arguments, "dict"));
              }));
  globals.set("range", Value::function("range", [](Arguments& arguments) {
                arguments.expect("range", 3);
                if (arguments.positional.empty()) throw Error("range needs an argument");
                int64_t start = 0, stop = 0, step = 1;
                if (arguments.positional.size() == 1) {
                  stop = required_integer(arguments.positional[0], "range's stop");
                } else {
                  start = required_integer(arguments.positional[0], "range's start");
                  stop = required_integer(arguments.positional[1], "range's stop");
                  if (arguments.positional.size() == 3)
                    step = required_integer(arguments.positional[2], "range's step");
                }
                if (step == 0) throw Error("range's step cannot be zero");
                List items;
                for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
                  if (static_cast<int64_t>(items.size()) >= kMaxRange)
                    throw Error("range too long for a chat template");
                  items.emplace_back(i);
                  if (step > 0 ? i > INT64_MAX - step : i < INT64_MIN - step) break;
                }
                return Value::list(std::move(items));
              }));
  return globals;
}

}  // namespace empo::text::jinja
