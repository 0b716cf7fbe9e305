#include "empo/reward/answer.h"

#include <cctype>

#include "empo/io/error.h"

namespace empo::reward {

namespace {

bool is_space(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

std::string lowercase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// Content of the brace group opening at text[open] ('{'), honouring nesting and the escaped
// braces \{ \} of LaTeX sets; false when the group is not closed (a truncated completion).
bool read_brace_group(const std::string& text, size_t open, std::string* content) {
  int depth = 0;
  for (size_t i = open; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\') {
      ++i;  // the escaped character never opens or closes a group
      continue;
    }
    if (c == '{') ++depth;
    if (c == '}' && --depth == 0) {
      *content = text.substr(open + 1, i - open - 1);
      return true;
    }
  }
  return false;
}

// The argument of the box command whose name ends just before `after`: a brace group, or
// (for `\boxed 5`) the run of text up to the next space or '$'.
bool read_box_argument(const std::string& text, size_t after, std::string* content) {
  if (after < text.size() && std::isalpha(static_cast<unsigned char>(text[after]))) {
    return false;  // a longer command name such as \boxedtext, not a box
  }
  size_t i = after;
  while (i < text.size() && is_space(text[i])) ++i;
  if (i >= text.size()) return false;
  if (text[i] == '{') return read_brace_group(text, i, content);
  if (i == after) return false;  // `\boxed5` without a space is not LaTeX
  size_t end = i;
  while (end < text.size() && !is_space(text[end]) && text[end] != '$') ++end;
  *content = text.substr(i, end - i);
  return end > i;
}

bool extract_boxed(const std::string& text, std::string* answer) {
  // Walk the box commands from the last one back, so that a truncated final box falls back
  // to the last complete one.
  size_t search_end = text.size();
  while (search_end > 0) {
    size_t boxed = text.rfind("\\boxed", search_end - 1);
    size_t fbox = text.rfind("\\fbox", search_end - 1);
    size_t at;
    size_t name_length;
    if (boxed != std::string::npos && (fbox == std::string::npos || boxed > fbox)) {
      at = boxed;
      name_length = 6;
    } else if (fbox != std::string::npos) {
      at = fbox;
      name_length = 5;
    } else {
      return false;
    }
    if (read_box_argument(text, at + name_length, answer)) return true;
    if (at == 0) return false;
    search_end = at;
  }
  return false;
}

std::string extract_hash_dollar(const std::string& text) {
  size_t hash = text.rfind('#');
  if (hash == std::string::npos) return "";
  size_t dollar = text.find('$', hash + 1);
  if (dollar == std::string::npos) return "";
  return text.substr(hash + 1, dollar - hash - 1);
}

std::string strip_sentence_end(std::string value) {
  value = trim(value);
  while (!value.empty() && (value.back() == '.' || value.back() == ',')) {
    value.pop_back();
    value = trim(value);
  }
  return value;
}

std::string after_phrase(const std::string& text, const std::string& phrase, bool cut_sentence) {
  std::string lower = lowercase(text);
  size_t at = lower.rfind(phrase);
  if (at == std::string::npos) return "";
  size_t begin = at + phrase.size();
  while (begin < text.size() && (text[begin] == ':' || text[begin] == ' ' || text[begin] == '\t')) {
    ++begin;
  }
  size_t end = text.find('\n', begin);
  if (end == std::string::npos) end = text.size();
  if (cut_sentence) {
    size_t sentence = text.find(". ", begin);
    if (sentence != std::string::npos && sentence < end) end = sentence;
  }
  return strip_sentence_end(text.substr(begin, end - begin));
}

bool is_number_start(const std::string& text, size_t i) {
  return is_digit(text[i]) && (i == 0 || !(is_digit(text[i - 1]) || text[i - 1] == '.'));
}

// The last number: optional '-', digits with optional ",ddd" groups, optional decimals.
std::string last_number(const std::string& text) {
  std::string found;
  for (size_t i = 0; i < text.size(); ++i) {
    if (!is_number_start(text, i)) continue;
    size_t end = i;
    while (end < text.size() && is_digit(text[end])) ++end;
    while (end + 3 < text.size() && text[end] == ',' && is_digit(text[end + 1]) &&
           is_digit(text[end + 2]) && is_digit(text[end + 3]) &&
           (end + 4 >= text.size() || !is_digit(text[end + 4]))) {
      end += 4;
    }
    if (end + 1 < text.size() && text[end] == '.' && is_digit(text[end + 1])) {
      ++end;
      while (end < text.size() && is_digit(text[end])) ++end;
    }
    size_t begin = (i > 0 && text[i - 1] == '-') ? i - 1 : i;
    found = text.substr(begin, end - begin);
    i = end;
  }
  return found;
}

std::string apply_fallback(const std::string& text, AnswerFallback fallback) {
  switch (fallback) {
    case AnswerFallback::answer_is:
      return after_phrase(text, "answer is", true);
    case AnswerFallback::answer_colon:
      return after_phrase(text, "answer:", false);
    case AnswerFallback::last_number:
      return last_number(text);
  }
  return "";
}

}  // namespace

std::string trim(const std::string& text) {
  size_t begin = 0;
  size_t end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  return text.substr(begin, end - begin);
}

AnswerFormat answer_format_from_name(const std::string& name) {
  if (name == "boxed") return AnswerFormat::boxed;
  if (name == "hash_dollar") return AnswerFormat::hash_dollar;
  if (name == "full") return AnswerFormat::full;
  throw InputError("unknown answer format '" + name + "' (expected boxed, hash_dollar or full)");
}

AnswerFallback answer_fallback_from_name(const std::string& name) {
  if (name == "answer_is") return AnswerFallback::answer_is;
  if (name == "answer_colon") return AnswerFallback::answer_colon;
  if (name == "last_number") return AnswerFallback::last_number;
  throw InputError("unknown answer fallback '" + name +
                   "' (expected answer_is, answer_colon or last_number)");
}

std::string extract_answer(const std::string& completion, const AnswerConfig& config) {
  if (config.format == AnswerFormat::hash_dollar) return trim(extract_hash_dollar(completion));
  if (config.format == AnswerFormat::full) return trim(completion);
  std::string answer;
  if (extract_boxed(completion, &answer)) return trim(answer);
  for (AnswerFallback fallback : config.fallbacks) {
    answer = apply_fallback(completion, fallback);
    if (!answer.empty()) return answer;
  }
  return "";
}

}  // namespace empo::reward
