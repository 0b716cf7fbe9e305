#pragma once
// What a chat template can call beyond operators: Jinja2's filters and tests, the Python str
// and dict methods templates use, attribute/item/slice lookup as Jinja2's sandbox does it, and
// the globals transformers adds (raise_exception, strftime_now, namespace, dict) plus range.
//
// strftime_now is deterministic: it formats 26 July 2024, 00:00:00 (the date Llama-3.x
// templates fall back to when strftime_now is missing) instead of today, so that a prompt does
// not change with the day it is built and golden tests stay golden. transformers formats today.
//
// Anything else (an unknown filter, test or method, a mutating method such as list.append)
// is an Error, never a silently different prompt.
#include <string>

#include "empo/text/jinja_value.h"

namespace empo::text::jinja {

// obj.name: a dict's key (or its get/items/keys/values method), a namespace's attribute, a
// str method; undefined when there is none. An attribute of an undefined value is an Error.
Value get_attribute(const Value& object, const std::string& name);
// obj[key]: dict keys, list/str indices (negative from the end); undefined when missing.
Value get_item(const Value& object, const Value& key);
// obj[start:stop:step] on a list, tuple or str; undefined parts are None.
Value slice(const Value& object, const Value& start, const Value& stop, const Value& step);
// Python's "item in container".
bool contains(const Value& container, const Value& item);

Value apply_filter(const std::string& name, const Value& value, Arguments& arguments);
bool apply_test(const std::string& name, const Value& value, Arguments& arguments);

// The global functions: raise_exception, strftime_now, namespace, dict, range.
Dict global_functions();

// strftime of the fixed date above.
std::string fixed_strftime(const std::string& format);

// Python's str.strip/lstrip/rstrip (chars empty and not given: whitespace).
std::string python_strip(const std::string& text, const Value& chars, bool left, bool right);

}  // namespace empo::text::jinja
