#include "empo/reward/markup.h"

#include <vector>

#include "empo/reward/latex.h"

namespace empo::reward {

namespace detail {

const std::set<std::string>& wrapper_commands() {
  static const std::set<std::string> names = {
      "text",   "textbf",     "textit",     "textrm",     "textsf", "texttt",      "textup",
      "emph",   "textnormal", "mbox",       "hbox",       "mathrm", "mathbf",      "mathit",
      "mathsf", "mathtt",     "mathnormal", "boldsymbol", "bm",     "operatorname"};
  return names;
}

const std::set<std::string>& spacing_commands() {
  static const std::set<std::string> names = {
      "quad",       "qquad",        "enspace",      "thinspace", "medspace",
      "thickspace", "negthinspace", "displaystyle", "textstyle", "scriptstyle",
      "left",       "right",        "big",          "Big",       "bigg",
      "Bigg",       "bigl",         "bigr",         "Bigl",      "Bigr",
      "biggl",      "biggr",        "Biggl",        "Biggr",     "middle"};
  return names;
}

std::string strip_markup(const std::string& answer, bool fold) {
  std::string out;
  std::vector<bool> drop_close;  // per open brace: whether its '}' belongs to a wrapper
  size_t i = 0;
  while (i < answer.size()) {
    char c = answer[i];
    if (c == '\\' && i + 1 < answer.size() && is_alpha(answer[i + 1])) {
      size_t end = i + 1;
      while (end < answer.size() && is_alpha(answer[end])) ++end;
      std::string name = answer.substr(i + 1, end - i - 1);
      if (wrapper_commands().count(name)) {
        size_t brace = end;
        while (brace < answer.size() && is_space(answer[brace])) ++brace;
        if (brace < answer.size() && answer[brace] == '{') {
          drop_close.push_back(true);
          i = brace + 1;
        } else {
          i = end;
        }
        continue;
      }
      if (spacing_commands().count(name)) {
        i = end;
        if ((name == "left" || name == "right") && i < answer.size() && answer[i] == '.') ++i;
        continue;
      }
      if (fold && (name == "dfrac" || name == "tfrac" || name == "cfrac")) name = "frac";
      if (fold && (name == "dbinom" || name == "tbinom")) name = "binom";
      out += "\\" + name;
      i = end;
      continue;
    }
    if (c == '\\' && i + 1 < answer.size()) {
      char escaped = answer[i + 1];
      if (escaped == ',' || escaped == '!' || escaped == ';' || escaped == ':' || escaped == ' ' ||
          escaped == '$') {
        i += 2;
        continue;
      }
      out += c;
      out += escaped;
      i += 2;
      continue;
    }
    if (c == '{') {
      drop_close.push_back(false);
    } else if (c == '}' && !drop_close.empty()) {
      bool drop = drop_close.back();
      drop_close.pop_back();
      if (drop) {
        ++i;
        continue;
      }
    } else if (c == '$' || c == '~' || (fold && is_space(c))) {
      ++i;
      continue;
    }
    out += c;
    ++i;
  }
  if (fold) out = lowercase(out);
  while (!out.empty() && (out.back() == '.' || is_space(out.back()))) out.pop_back();
  return out;
}

char choice_letter(const std::string& answer) {
  std::string stripped;
  for (char c : strip_markup(answer, false)) {
    if (!is_space(c)) stripped += c;
  }
  if (stripped.size() == 1 && stripped[0] >= 'A' && stripped[0] <= 'E') return stripped[0];
  if (stripped.size() >= 3 && stripped[0] == '(' && stripped[2] == ')' && stripped[1] >= 'A' &&
      stripped[1] <= 'J') {
    return stripped[1];
  }
  return 0;
}

std::string strip_delimiters(const std::string& answer) {
  std::string out;
  for (size_t i = 0; i < answer.size(); ++i) {
    if (answer[i] == '$' && (i == 0 || answer[i - 1] != '\\')) continue;
    out += answer[i];
  }
  size_t begin = 0;
  while (begin < out.size() && is_space(out[begin])) ++begin;
  out.erase(0, begin);
  while (!out.empty() && (is_space(out.back()) || out.back() == '.')) out.pop_back();
  return out;
}

}  // namespace detail

std::string normalize_text(const std::string& answer) {
  return detail::strip_markup(answer, true);
}

}  // namespace empo::reward
