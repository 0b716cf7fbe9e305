#include "empo/reward/latex.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

namespace empo::reward {

// Floor and ceiling as GiNaC functions: exact on rationals, numeric on real floats.
DECLARE_FUNCTION_1P(floor_of)
DECLARE_FUNCTION_1P(ceil_of)

namespace {

using GiNaC::ex;
using GiNaC::ex_to;
using GiNaC::exvector;
using GiNaC::is_a;
using GiNaC::is_exactly_a;
using GiNaC::numeric;

// floor(p/q) for q > 0: GiNaC's mod() is non-negative for a positive modulus.
ex floor_eval(const ex& x) {
  if (is_exactly_a<numeric>(x) && ex_to<numeric>(x).is_rational()) {
    const numeric& value = ex_to<numeric>(x);
    numeric p = value.numer();
    numeric q = value.denom();
    return (p - GiNaC::mod(p, q)) / q;
  }
  return floor_of(x).hold();
}

ex ceil_eval(const ex& x) {
  if (is_exactly_a<numeric>(x) && ex_to<numeric>(x).is_rational()) return -floor_eval(-x);
  return ceil_of(x).hold();
}

double real_double(const ex& x) {
  if (!is_exactly_a<numeric>(x) || !ex_to<numeric>(x).is_real()) {
    throw std::domain_error("floor/ceiling of a non-real value");
  }
  double value = ex_to<numeric>(x).to_double();
  if (!std::isfinite(value)) throw std::range_error("floor/ceiling out of range");
  return value;
}

ex floor_evalf(const ex& x) {
  return numeric(std::floor(real_double(x)));
}
ex ceil_evalf(const ex& x) {
  return numeric(std::ceil(real_double(x)));
}

}  // namespace

REGISTER_FUNCTION(floor_of, eval_func(floor_eval).evalf_func(floor_evalf))
REGISTER_FUNCTION(ceil_of, eval_func(ceil_eval).evalf_func(ceil_evalf))

namespace {

// Input that is not math: the answer becomes normalised text.
struct SyntaxError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A size or work bound: the answer becomes `invalid` and equals nothing.
struct BoundError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

bool is_space(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

std::string lowercase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// One global table, so that equal names are equal GiNaC symbols in every answer.
const GiNaC::symbol& symbol_named(const std::string& name) {
  static std::map<std::string, GiNaC::symbol> table;
  auto found = table.find(name);
  if (found == table.end()) found = table.emplace(name, GiNaC::symbol(name)).first;
  return found->second;
}

// Names no input can spell (inputs give letters, Greek names and subscripts).
const GiNaC::symbol& infinity_symbol() {
  return symbol_named("\\infty");
}
const GiNaC::symbol& plus_minus_symbol() {
  return symbol_named("\\pm");
}

// ---------------------------------------------------------------------------------------
// Text normalisation (shared by the text fallback and by choice detection).

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

// Removes wrappers, spacing and sizing commands and '$'; with `fold`, also spaces, case and
// the \dfrac/\tfrac spellings (the full text normal form).
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

// "(C)", "C" (A-E only: a bare later letter is more likely a variable), "(C) 42",
// "\textbf{(C)}": the letter, or 0.
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

// ---------------------------------------------------------------------------------------
// Lexer: LaTeX answer text -> tokens. Wrappers, spacing and \left/\right vanish here.

enum class Tok {
  end,
  number,
  letter,
  name,  // a Greek letter or other named symbol
  pi,
  infinity,
  function,
  frac,
  sqrt,
  binom,
  plus,
  minus,
  plus_minus,
  minus_plus,
  times,
  divide,
  power,
  subscript,
  factorial,
  equals,
  approx,
  less,
  less_equal,
  greater,
  greater_equal,
  in,
  comma,
  cup,
  lparen,
  rparen,
  lbracket,
  rbracket,
  lbrace,
  rbrace,
  lset,
  rset,
  bar,
  lfloor,
  rfloor,
  lceil,
  rceil,
  percent,
  degree,
  prime,
  unit,
  word,  // not math outside a subscript
  empty_set,
  begin_matrix,
  end_matrix,
  ampersand,
  row_end,
};

struct Token {
  Tok type = Tok::end;
  std::string text;      // number: digits with an optional '.'; names: the name
  long exponent = 0;     // number: the power of ten of scientific notation
  bool integer = false;  // number: written as a plain integer
};

const std::set<std::string>& function_names() {
  static const std::set<std::string> names = {"sin",    "cos",    "tan",    "cot",  "sec",  "csc",
                                              "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
                                              "coth",   "ln",     "log",    "lg",   "exp"};
  return names;
}

const std::set<std::string>& greek_names() {
  static const std::set<std::string> names = {
      "alpha", "beta",     "gamma",   "delta",    "epsilon", "varepsilon", "zeta",   "eta",
      "theta", "vartheta", "iota",    "kappa",    "lambda",  "mu",         "nu",     "xi",
      "rho",   "varrho",   "sigma",   "varsigma", "tau",     "upsilon",    "phi",    "varphi",
      "chi",   "psi",      "omega",   "Gamma",    "Delta",   "Theta",      "Lambda", "Xi",
      "Pi",    "Sigma",    "Upsilon", "Phi",      "Psi",     "Omega",      "hbar",   "ell",
      "aleph", "nabla",    "partial"};
  return names;
}

// Words that name units; after a number they are dropped ("5 cm", "\text{ inches}^2").
const std::set<std::string>& unit_words() {
  static const std::set<std::string> names = {
      "unit",      "units",      "square",  "sq",     "cubic",   "cm",         "mm",
      "km",        "meter",      "meters",  "metre",  "metres",  "centimeter", "centimeters",
      "kilometer", "kilometers", "inch",    "inches", "in",      "foot",       "feet",
      "ft",        "yard",       "yards",   "yd",     "mile",    "miles",      "mph",
      "kg",        "gram",       "grams",   "pound",  "pounds",  "lb",         "lbs",
      "ounce",     "ounces",     "oz",      "second", "seconds", "minute",     "minutes",
      "hour",      "hours",      "hr",      "hrs",    "day",     "days",       "week",
      "weeks",     "month",      "months",  "year",   "years",   "degree",     "degrees",
      "deg",       "radian",     "radians", "cent",   "cents",   "dollar",     "dollars",
      "percent",   "liter",      "liters",  "litre",  "litres",  "ml",         "gallon",
      "gallons",   "mps"};
  return names;
}

bool is_unit_phrase(const std::string& content) {
  std::string word;
  bool any = false;
  auto flush = [&]() {
    if (word.empty()) return true;
    bool known = unit_words().count(lowercase(word)) > 0;
    word.clear();
    any = true;
    return known;
  };
  for (char c : content) {
    if (is_space(c) || c == '-' || c == '.') {
      if (!flush()) return false;
    } else if (is_alpha(c)) {
      word += c;
    } else {
      return false;
    }
  }
  return flush() && any;
}

class Lexer {
 public:
  Lexer(const std::string& text, const ParseLimits& limits) : text_(text), limits_(limits) {}

  std::vector<Token> run() {
    while (i_ < text_.size()) step();
    if (!drop_close_.empty()) throw SyntaxError("unclosed brace");
    emit(Tok::end);
    return std::move(out_);
  }

 private:
  void emit(Tok type, std::string text = "") {
    Token token;
    token.type = type;
    token.text = std::move(text);
    if (type == Tok::lparen || type == Tok::lbracket || type == Tok::lbrace || type == Tok::lset) {
      ++bracket_depth_;
    }
    if (type == Tok::rparen || type == Tok::rbracket || type == Tok::rbrace || type == Tok::rset) {
      --bracket_depth_;
    }
    out_.push_back(std::move(token));
  }

  bool at(size_t i, const char* literal) const {
    return text_.compare(i, std::char_traits<char>::length(literal), literal) == 0;
  }

  size_t skip_spaces(size_t i) const {
    while (i < text_.size() && is_space(text_[i])) ++i;
    return i;
  }

  void step() {
    char c = text_[i_];
    if (is_space(c) || c == '~') {
      ++i_;
    } else if (is_digit(c) || (c == '.' && i_ + 1 < text_.size() && is_digit(text_[i_ + 1]))) {
      lex_number();
    } else if (is_alpha(c)) {
      lex_letters();
    } else if (c == '\\') {
      lex_command();
    } else if (static_cast<unsigned char>(c) >= 0x80) {
      lex_utf8();
    } else {
      lex_punctuation(c);
    }
  }

  void lex_punctuation(char c) {
    ++i_;
    switch (c) {
      case '{':
        drop_close_.push_back(false);
        emit(Tok::lbrace);
        return;
      case '}':
        if (drop_close_.empty()) throw SyntaxError("unbalanced '}'");
        if (!drop_close_.back()) emit(Tok::rbrace);
        drop_close_.pop_back();
        return;
      case '(':
        emit(Tok::lparen);
        return;
      case ')':
        emit(Tok::rparen);
        return;
      case '[':
        emit(Tok::lbracket);
        return;
      case ']':
        emit(Tok::rbracket);
        return;
      case '|':
        emit(Tok::bar);
        return;
      case ',':
        emit(Tok::comma);
        return;
      case ';':
        emit(Tok::comma);
        return;
      case '+':
        emit(Tok::plus);
        return;
      case '-':
        emit(Tok::minus);
        return;
      case '*':
        emit(Tok::times);
        return;
      case '/':
        emit(Tok::divide);
        return;
      case '!':
        emit(Tok::factorial);
        return;
      case '%':
        emit(Tok::percent);
        return;
      case '_':
        emit(Tok::subscript);
        return;
      case '&':
        emit(Tok::ampersand);
        return;
      case '\'':
        emit(Tok::prime);
        return;
      case '=':
        if (i_ < text_.size() && text_[i_] == '=') ++i_;
        emit(Tok::equals);
        return;
      case '<':
        if (i_ < text_.size() && text_[i_] == '=') {
          ++i_;
          emit(Tok::less_equal);
        } else {
          emit(Tok::less);
        }
        return;
      case '>':
        if (i_ < text_.size() && text_[i_] == '=') {
          ++i_;
          emit(Tok::greater_equal);
        } else {
          emit(Tok::greater);
        }
        return;
      case '^':
        lex_superscript();
        return;
      default:
        throw SyntaxError(std::string("unexpected character '") + c + "'");
    }
  }

  // ^\circ and ^{\circ} are degrees, ^\prime a prime; anything else is a power.
  void lex_superscript() {
    size_t j = skip_spaces(i_);
    bool braced = j < text_.size() && text_[j] == '{';
    size_t k = braced ? skip_spaces(j + 1) : j;
    for (const char* mark : {"\\circ", "\\prime"}) {
      size_t length = std::char_traits<char>::length(mark);
      if (!at(k, mark) || (k + length < text_.size() && is_alpha(text_[k + length]))) continue;
      size_t after = skip_spaces(k + length);
      if (braced) {
        if (after >= text_.size() || text_[after] != '}') continue;
        ++after;
      }
      i_ = after;
      emit(mark[1] == 'c' ? Tok::degree : Tok::prime);
      return;
    }
    emit(Tok::power);
  }

  void lex_utf8() {
    static const std::pair<const char*, Tok> symbols[] = {{"\xE2\x88\x92", Tok::minus},
                                                          {"\xC3\x97", Tok::times},
                                                          {"\xC2\xB7", Tok::times},
                                                          {"\xC3\xB7", Tok::divide},
                                                          {"\xCF\x80", Tok::pi},
                                                          {"\xE2\x88\x9E", Tok::infinity},
                                                          {"\xE2\x89\xA4", Tok::less_equal},
                                                          {"\xE2\x89\xA5", Tok::greater_equal},
                                                          {"\xC2\xB0", Tok::degree},
                                                          {"\xE2\x88\x9A", Tok::sqrt},
                                                          {"\xC2\xB1", Tok::plus_minus},
                                                          {"\xE2\x88\xAA", Tok::cup},
                                                          {"\xE2\x89\x88", Tok::approx}};
    for (const auto& [bytes, type] : symbols) {
      if (at(i_, bytes)) {
        i_ += std::char_traits<char>::length(bytes);
        emit(type);
        return;
      }
    }
    throw SyntaxError("non-ASCII text");
  }

  // A thousands separator followed by a group of exactly three digits: ",\!", "{,}", "\,",
  // "\!" or one space anywhere ("1 000" is 1000 in TeX too), a plain ',' only outside
  // brackets (inside them ',' separates items).
  size_t thousands_separator(size_t i) const {
    size_t length = 0;
    size_t after_comma = at(i, ",") ? skip_spaces(i + 1) : i;
    if (after_comma > i && at(after_comma, "\\!")) {
      length = skip_spaces(after_comma + 2) - i;
    } else if (at(i, "{,}")) {
      length = 3;
    } else if (at(i, "\\,") || at(i, "\\!")) {
      length = skip_spaces(i + 2) - i;
    } else if ((at(i, ",") && bracket_depth_ == 0) || (at(i, " ") && !at(i + 1, " "))) {
      length = 1;
    } else {
      return 0;
    }
    size_t group = i + length;
    if (group + 3 > text_.size()) return 0;
    for (size_t k = group; k < group + 3; ++k) {
      if (!is_digit(text_[k])) return 0;
    }
    if (group + 3 < text_.size() && is_digit(text_[group + 3])) return 0;
    return length;
  }

  void lex_number() {
    std::string digits;
    while (i_ < text_.size() && is_digit(text_[i_])) digits += text_[i_++];
    if (!digits.empty() && digits.size() <= 3 && digits[0] != '0') {
      while (size_t separator = thousands_separator(i_)) {
        i_ += separator;
        digits += text_.substr(i_, 3);
        i_ += 3;
      }
    }
    bool integer = true;
    if (i_ < text_.size() && text_[i_] == '.') {
      bool fraction = i_ + 1 < text_.size() && is_digit(text_[i_ + 1]);
      bool trailing_point = !fraction && (i_ + 1 >= text_.size() ||
                                          (!is_alpha(text_[i_ + 1]) && text_[i_ + 1] != '.'));
      if (fraction || trailing_point) {
        integer = false;
        digits += '.';
        ++i_;
        while (i_ < text_.size() && is_digit(text_[i_])) digits += text_[i_++];
      }
    }
    long exponent = 0;
    if (i_ < text_.size() && (text_[i_] == 'e' || text_[i_] == 'E')) {
      size_t j = i_ + 1;
      bool negative = false;
      if (j < text_.size() && (text_[j] == '+' || text_[j] == '-')) negative = text_[j++] == '-';
      if (j < text_.size() && is_digit(text_[j])) {
        std::string exponent_digits;
        while (j < text_.size() && is_digit(text_[j])) exponent_digits += text_[j++];
        if (exponent_digits.size() > 9) throw BoundError("scientific exponent too large");
        exponent = std::stol(exponent_digits) * (negative ? -1 : 1);
        integer = false;
        i_ = j;
      }
    }
    long digit_count = static_cast<long>(digits.size()) - (integer ? 0 : 1);
    if (digit_count > limits_.max_literal_digits) throw BoundError("number with too many digits");
    Token token;
    token.type = Tok::number;
    token.text = digits;
    token.exponent = exponent;
    token.integer = integer;
    out_.push_back(std::move(token));
  }

  void lex_letters() {
    size_t end = i_;
    while (end < text_.size() && is_alpha(text_[end])) ++end;
    std::string run = text_.substr(i_, end - i_);
    i_ = end;
    if (function_names().count(run)) {
      emit(Tok::function, run);
    } else if (run == "sqrt") {
      emit(Tok::sqrt);
    } else if (run == "pi") {
      emit(Tok::pi);
    } else if (run == "infty" || run == "infinity" || run == "inf") {
      emit(Tok::infinity);
    } else if (run == "and" || run == "or") {
      emit(Tok::comma);
    } else if (run.size() >= 2 && unit_words().count(lowercase(run))) {
      emit(Tok::unit, run);
    } else if (run.size() <= 2) {
      for (char c : run) emit(Tok::letter, std::string(1, c));
    } else {
      emit(Tok::word, run);
    }
  }

  // The content of the brace group opening at text_[open]; false when it is not closed.
  bool brace_content(size_t open, std::string* content, size_t* after) const {
    int depth = 0;
    for (size_t k = open; k < text_.size(); ++k) {
      if (text_[k] == '\\') {
        ++k;
        continue;
      }
      if (text_[k] == '{') ++depth;
      if (text_[k] == '}' && --depth == 0) {
        *content = text_.substr(open + 1, k - open - 1);
        *after = k + 1;
        return true;
      }
    }
    return false;
  }

  // \text{...} and friends: "and"/"or" separate items, unit words are units, anything else
  // is read as if the wrapper were not there (so \text{Evelyn} becomes a word, hence text).
  void lex_text_wrapper() {
    size_t open = skip_spaces(i_);
    if (open >= text_.size() || text_[open] != '{') return;
    std::string content;
    size_t after;
    if (!brace_content(open, &content, &after)) throw SyntaxError("unclosed \\text");
    std::string trimmed = lowercase(content);
    trimmed.erase(0, trimmed.find_first_not_of(" \t"));
    trimmed.erase(trimmed.find_last_not_of(" \t") + 1);
    if (trimmed.empty()) {
      i_ = after;
    } else if (trimmed == "and" || trimmed == "or" || trimmed == ",") {
      i_ = after;
      emit(Tok::comma);
    } else if (is_unit_phrase(trimmed)) {
      i_ = after;
      emit(Tok::unit, trimmed);
    } else {
      i_ = open + 1;
      drop_close_.push_back(true);
    }
  }

  std::string environment_name() {
    size_t open = skip_spaces(i_);
    std::string name;
    size_t after;
    if (open >= text_.size() || text_[open] != '{' || !brace_content(open, &name, &after)) {
      throw SyntaxError("environment without a name");
    }
    i_ = after;
    return name;
  }

  void lex_command() {
    ++i_;  // the backslash
    if (i_ >= text_.size()) throw SyntaxError("trailing backslash");
    char c = text_[i_];
    if (!is_alpha(c)) {
      ++i_;
      switch (c) {
        case ',':
        case '!':
        case ';':
        case ':':
        case ' ':
        case '>':
        case '$':
          return;  // spacing, and the escaped dollar of currency
        case '{':
          emit(Tok::lset);
          return;
        case '}':
          emit(Tok::rset);
          return;
        case '%':
          emit(Tok::percent);
          return;
        case '\\':
          emit(Tok::row_end);
          return;
        case '|':
          emit(Tok::bar);
          return;
        default:
          throw SyntaxError(std::string("unknown command \\") + c);
      }
    }
    size_t end = i_;
    while (end < text_.size() && is_alpha(text_[end])) ++end;
    std::string name = text_.substr(i_, end - i_);
    i_ = end;
    lex_named_command(name);
  }

  void lex_named_command(const std::string& name) {
    static const std::map<std::string, Tok> simple = {{"frac", Tok::frac},
                                                      {"dfrac", Tok::frac},
                                                      {"tfrac", Tok::frac},
                                                      {"cfrac", Tok::frac},
                                                      {"sqrt", Tok::sqrt},
                                                      {"binom", Tok::binom},
                                                      {"dbinom", Tok::binom},
                                                      {"tbinom", Tok::binom},
                                                      {"pi", Tok::pi},
                                                      {"infty", Tok::infinity},
                                                      {"cdot", Tok::times},
                                                      {"times", Tok::times},
                                                      {"ast", Tok::times},
                                                      {"div", Tok::divide},
                                                      {"pm", Tok::plus_minus},
                                                      {"mp", Tok::minus_plus},
                                                      {"circ", Tok::degree},
                                                      {"degree", Tok::degree},
                                                      {"prime", Tok::prime},
                                                      {"lfloor", Tok::lfloor},
                                                      {"rfloor", Tok::rfloor},
                                                      {"lceil", Tok::lceil},
                                                      {"rceil", Tok::rceil},
                                                      {"cup", Tok::cup},
                                                      {"in", Tok::in},
                                                      {"le", Tok::less_equal},
                                                      {"leq", Tok::less_equal},
                                                      {"leqslant", Tok::less_equal},
                                                      {"ge", Tok::greater_equal},
                                                      {"geq", Tok::greater_equal},
                                                      {"geqslant", Tok::greater_equal},
                                                      {"lt", Tok::less},
                                                      {"gt", Tok::greater},
                                                      {"approx", Tok::approx},
                                                      {"emptyset", Tok::empty_set},
                                                      {"varnothing", Tok::empty_set},
                                                      {"vert", Tok::bar},
                                                      {"lvert", Tok::bar},
                                                      {"rvert", Tok::bar}};
    auto found = simple.find(name);
    if (found != simple.end()) {
      emit(found->second);
    } else if (spacing_commands().count(name)) {
      // \left. and \right. are invisible delimiters
      if ((name == "left" || name == "right") && i_ < text_.size() && text_[i_] == '.') ++i_;
    } else if (function_names().count(name)) {
      emit(Tok::function, name);
    } else if (greek_names().count(name)) {
      emit(Tok::name, name);
    } else if (name == "text" || name == "textbf" || name == "textit" || name == "textrm" ||
               name == "textsf" || name == "texttt" || name == "textup" || name == "textnormal" ||
               name == "mbox" || name == "hbox" || name == "emph") {
      lex_text_wrapper();
    } else if (wrapper_commands().count(name) || name == "mathbb" || name == "mathcal") {
      size_t open = skip_spaces(i_);
      if (open < text_.size() && text_[open] == '{') {
        i_ = open + 1;
        drop_close_.push_back(true);
      }
    } else if (name == "begin" || name == "end") {
      std::string environment = environment_name();
      static const std::set<std::string> matrices = {"pmatrix", "bmatrix", "Bmatrix", "matrix",
                                                     "smallmatrix"};
      if (!matrices.count(environment)) throw SyntaxError("environment " + environment);
      emit(name == "begin" ? Tok::begin_matrix : Tok::end_matrix);
    } else {
      emit(Tok::word, name);  // \max in a subscript is a name; elsewhere not math
    }
  }

  const std::string& text_;
  const ParseLimits& limits_;
  size_t i_ = 0;
  int bracket_depth_ = 0;
  std::vector<bool> drop_close_;
  std::vector<Token> out_;
};

// ---------------------------------------------------------------------------------------
// Values

MathValue make_expression(const ex& expression) {
  MathValue value;
  value.kind = ValueKind::expression;
  value.expression = expression;
  return value;
}

MathValue make_items(ValueKind kind, std::vector<MathValue> items, char open = 0, char close = 0) {
  MathValue value;
  value.kind = kind;
  value.items = std::move(items);
  value.open = open;
  value.close = close;
  return value;
}

MathValue make_text(ValueKind kind, std::string text) {
  MathValue value;
  value.kind = kind;
  value.text = std::move(text);
  return value;
}

bool has_symbol(const ex& expression) {
  if (is_a<GiNaC::symbol>(expression)) return true;
  for (size_t i = 0; i < expression.nops(); ++i) {
    if (has_symbol(expression.op(i))) return true;
  }
  return false;
}

// Bits of an exact number's numerator plus denominator; 0 for 0, 1 and -1.
long double numeric_bits(const numeric& value) {
  if (!value.is_crational()) return 64;
  long double bits = 0;
  for (const numeric& part : {value.real(), value.imag()}) {
    numeric numerator = GiNaC::abs(part.numer());
    numeric denominator = part.denom();
    if (numerator > 1) bits += numerator.int_length();
    if (denominator > 1) bits += denominator.int_length();
  }
  return bits;
}

// Size of the exact numbers GiNaC would compute for base^p: it evaluates powers of numbers
// eagerly and distributes integer powers over products, (2x)^n -> 2^n x^n.
long double power_bits(const ex& base, long double p) {
  if (is_exactly_a<numeric>(base)) return numeric_bits(ex_to<numeric>(base)) * p;
  if (is_exactly_a<GiNaC::mul>(base)) {
    long double bits = 0;
    for (size_t i = 0; i < base.nops(); ++i) bits += power_bits(base.op(i), p);
    return bits;
  }
  if (is_exactly_a<GiNaC::power>(base) && is_exactly_a<numeric>(base.op(1))) {
    const numeric& exponent = ex_to<numeric>(base.op(1));
    if (!exponent.is_rational()) return 0;
    return power_bits(base.op(0), p * std::fabs(exponent.numer().to_double()));
  }
  return 0;
}

// ---------------------------------------------------------------------------------------
// Parser: recursive descent over the tokens; every recursion passes a depth guard.

class Parser {
 public:
  Parser(std::vector<Token> tokens, const ParseLimits& limits)
      : tokens_(std::move(tokens)), limits_(limits) {}

  MathValue parse() {
    std::vector<MathValue> items = parse_items(true);
    expect(Tok::end, "end of answer");
    if (items.size() == 1) return items[0];
    return make_items(ValueKind::set, std::move(items));
  }

 private:
  class DepthGuard {
   public:
    explicit DepthGuard(Parser& parser) : parser_(parser) {
      if (++parser_.depth_ > parser_.limits_.max_depth) throw BoundError("nesting too deep");
    }
    ~DepthGuard() { --parser_.depth_; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;

   private:
    Parser& parser_;
  };

  const Token& peek(size_t ahead = 0) const {
    size_t at = std::min(pos_ + ahead, tokens_.size() - 1);
    return tokens_[at];
  }
  Tok peek_type(size_t ahead = 0) const { return peek(ahead).type; }

  Token next() {
    if (++steps_ > limits_.max_parse_steps) throw BoundError("too many parser steps");
    Token token = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return token;
  }

  bool accept(Tok type) {
    if (peek_type() != type) return false;
    next();
    return true;
  }

  void expect(Tok type, const char* what) {
    if (!accept(type)) throw SyntaxError(std::string("expected ") + what);
  }

  static const ex& expr_of(const MathValue& value) {
    if (value.kind != ValueKind::expression) throw SyntaxError("arithmetic on a non-expression");
    return value.expression;
  }

  ex symbol(const std::string& name) {
    if (used_symbols_.insert(name).second &&
        static_cast<int>(used_symbols_.size()) > limits_.max_symbols) {
      throw BoundError("too many variables");
    }
    return symbol_named(name);
  }

  void spend_bits(long double bits) {
    if (!(bits <= limits_.max_number_bits)) throw BoundError("number too large");
    created_bits_ += bits;
    if (!(created_bits_ <= limits_.max_created_bits)) throw BoundError("numbers too large");
  }

  // --- lists and items ---------------------------------------------------------------

  // Items separated by commas; in unordered contexts (`split_plus_minus`) "a \pm b" becomes
  // the two items a+b and a-b.
  std::vector<MathValue> parse_items(bool split_plus_minus) {
    std::vector<MathValue> items;
    do {
      MathValue item = parse_item();
      if (split_plus_minus && item.kind == ValueKind::expression &&
          item.expression.has(plus_minus_symbol())) {
        items.push_back(make_expression(item.expression.subs(plus_minus_symbol() == 1)));
        items.push_back(make_expression(item.expression.subs(plus_minus_symbol() == -1)));
      } else {
        items.push_back(std::move(item));
      }
    } while (accept(Tok::comma));
    return items;
  }

  static bool is_relation(Tok type) {
    return type == Tok::equals || type == Tok::approx || type == Tok::in || type == Tok::less ||
           type == Tok::less_equal || type == Tok::greater || type == Tok::greater_equal;
  }

  // Index just past the group opening at `i` (brace or parenthesis), or `i` when unclosed.
  size_t skip_group(size_t i, Tok open, Tok close) const {
    int depth = 0;
    for (size_t k = i; k < tokens_.size(); ++k) {
      if (tokens_[k].type == open) ++depth;
      if (tokens_[k].type == close && --depth == 0) return k + 1;
    }
    return i;
  }

  // Tokens [begin, end) spell a lone variable: x, x_1, f', f(x), N(n), m_{\max}.
  bool lone_variable(size_t begin, size_t end) const {
    if (begin >= end) return false;
    Tok first = tokens_[begin].type;
    if (first != Tok::letter && first != Tok::name) return false;
    size_t k = begin + 1;
    if (k < end && tokens_[k].type == Tok::subscript) {
      ++k;
      if (k < end && tokens_[k].type == Tok::lbrace) {
        k = skip_group(k, Tok::lbrace, Tok::rbrace);
      } else {
        ++k;
      }
    }
    while (k < end && tokens_[k].type == Tok::prime) ++k;
    if (k < end && tokens_[k].type == Tok::lparen) k = skip_group(k, Tok::lparen, Tok::rparen);
    return k == end;
  }

  MathValue parse_item() {
    size_t begin = pos_;
    MathValue first = parse_union();
    if (!is_relation(peek_type())) return first;
    Sides sides;
    sides.values.push_back(std::move(first));
    sides.begins.push_back(begin);
    sides.ends.push_back(pos_);
    while (is_relation(peek_type())) {
      sides.ops.push_back(next().type);
      sides.begins.push_back(pos_);
      sides.values.push_back(parse_union());
      sides.ends.push_back(pos_);
    }
    return build_relation(sides);
  }

  // The sides of "a = b", "a < x <= b": values, their token spans and the operators.
  struct Sides {
    std::vector<MathValue> values;
    std::vector<size_t> begins;
    std::vector<size_t> ends;
    std::vector<Tok> ops;
  };

  bool lone_variable_side(const Sides& sides, size_t i) const {
    return lone_variable(sides.begins[i], sides.ends[i]);
  }

  MathValue build_relation(const Sides& relation) {
    const std::vector<MathValue>& sides = relation.values;
    const std::vector<Tok>& ops = relation.ops;
    auto is_equality = [](Tok op) {
      return op == Tok::equals || op == Tok::approx || op == Tok::in;
    };
    bool all_equal = std::all_of(ops.begin(), ops.end(), is_equality);
    auto approx = std::find(ops.begin(), ops.end(), Tok::approx);
    if (all_equal && approx != ops.end()) {
      // "5\sqrt{3} \approx 8.66" and "x = 5\sqrt{3} \approx 8.66" mean 5\sqrt{3}; only
      // "x \approx 8.66" has nothing better than the approximation.
      size_t side = static_cast<size_t>(approx - ops.begin());
      if (side == 0 && lone_variable_side(relation, 0)) side = 1;
      return sides[side];
    }
    if (all_equal) {
      // "x = 5", "f(x) = x+1", "x \in [1,2]", "2+3 = 5": the answer is the last side.
      bool lone_left = lone_variable_side(relation, 0);
      bool constant = true;
      for (const MathValue& side : sides) {
        if (side.kind != ValueKind::expression || has_symbol(side.expression)) constant = false;
      }
      bool all_expressions = std::all_of(sides.begin(), sides.end(), [](const MathValue& side) {
        return side.kind == ValueKind::expression;
      });
      if (lone_left || constant || !all_expressions || ops.back() == Tok::in) return sides.back();
      MathValue equation = make_expression(sides.front().expression - sides.back().expression);
      equation.kind = ValueKind::equation;
      return equation;
    }
    bool any_equal = std::any_of(ops.begin(), ops.end(), is_equality);
    if (any_equal) throw SyntaxError("equation mixed with inequality");
    for (const MathValue& side : sides) expr_of(side);
    auto ascending = [](Tok op) { return op == Tok::less || op == Tok::less_equal; };
    bool up = ascending(ops[0]);
    for (Tok op : ops) {
      if (ascending(op) != up) throw SyntaxError("inequality chain changes direction");
    }
    auto strict = [](Tok op) { return op == Tok::less || op == Tok::greater; };
    ex infinity = infinity_symbol();
    if (ops.size() == 1) {
      // Normalise to low < x < high with the bound's strictness.
      bool variable_left = lone_variable_side(relation, 0);
      bool variable_right = lone_variable_side(relation, 1);
      const ex& left = sides[0].expression;
      const ex& right = sides[1].expression;
      if (variable_left || variable_right) {
        const ex& bound = variable_left ? right : left;
        bool bound_is_upper = (variable_left == up);
        std::vector<MathValue> ends;
        if (bound_is_upper) {
          ends = {make_expression(-infinity), make_expression(bound)};
          return make_items(ValueKind::tuple, ends, '(', strict(ops[0]) ? ')' : ']');
        }
        ends = {make_expression(bound), make_expression(infinity)};
        return make_items(ValueKind::tuple, ends, strict(ops[0]) ? '(' : '[', ')');
      }
      MathValue relation = make_expression(up ? right - left : left - right);
      relation.kind = ValueKind::relation;
      relation.strict = strict(ops[0]);
      return relation;
    }
    if (ops.size() == 2 && lone_variable_side(relation, 1)) {
      const MathValue& low = up ? sides[0] : sides[2];
      const MathValue& high = up ? sides[2] : sides[0];
      Tok low_op = up ? ops[0] : ops[1];
      Tok high_op = up ? ops[1] : ops[0];
      return make_items(ValueKind::tuple, {low, high}, strict(low_op) ? '(' : '[',
                        strict(high_op) ? ')' : ']');
    }
    throw SyntaxError("unsupported inequality");
  }

  MathValue parse_union() {
    MathValue first = parse_sum();
    if (peek_type() != Tok::cup) return first;
    std::vector<MathValue> parts;
    auto add_part = [&](MathValue part) {
      if (part.kind == ValueKind::union_of) {
        for (MathValue& inner : part.items) parts.push_back(std::move(inner));
      } else {
        parts.push_back(std::move(part));
      }
    };
    add_part(std::move(first));
    while (accept(Tok::cup)) add_part(parse_sum());
    return make_items(ValueKind::union_of, std::move(parts));
  }

  // --- arithmetic ----------------------------------------------------------------------

  MathValue parse_sum() {
    MathValue first = parse_term();
    Tok type = peek_type();
    if (type != Tok::plus && type != Tok::minus && type != Tok::plus_minus &&
        type != Tok::minus_plus) {
      return first;
    }
    exvector terms{expr_of(first)};
    while (true) {
      type = peek_type();
      ex sign;
      if (type == Tok::plus) {
        sign = 1;
      } else if (type == Tok::minus) {
        sign = -1;
      } else if (type == Tok::plus_minus) {
        sign = plus_minus_symbol();
      } else if (type == Tok::minus_plus) {
        sign = -plus_minus_symbol();
      } else {
        break;
      }
      next();
      terms.push_back(sign * expr_of(parse_term()));
    }
    return make_expression(ex(GiNaC::add(terms)));
  }

  bool starts_implicit_factor(Tok type) const {
    switch (type) {
      case Tok::number:
      case Tok::letter:
      case Tok::name:
      case Tok::pi:
      case Tok::infinity:
      case Tok::function:
      case Tok::frac:
      case Tok::sqrt:
      case Tok::binom:
      case Tok::lparen:
      case Tok::lbrace:
      case Tok::lfloor:
      case Tok::lceil:
        return true;
      case Tok::bar:
        return abs_depth_ == 0;
      default:
        return false;
    }
  }

  // An integer literal directly followed by \frac{integer}{integer} is a mixed number:
  // 1\frac{4}{5} = 9/5, as competition answers write it.
  bool mixed_fraction_ahead() const {
    if (peek_type() != Tok::frac) return false;
    size_t k = pos_ + 1;
    for (int argument = 0; argument < 2; ++argument) {
      if (k >= tokens_.size()) return false;
      if (tokens_[k].type == Tok::lbrace) {
        if (k + 2 >= tokens_.size() || tokens_[k + 1].type != Tok::number ||
            !tokens_[k + 1].integer || tokens_[k + 2].type != Tok::rbrace) {
          return false;
        }
        k += 3;
      } else if (tokens_[k].type == Tok::number && tokens_[k].integer) {
        if (argument == 0 && tokens_[k].text.size() > 1) {
          return tokens_[k].text.size() == 2;  // \frac12: both digits in one token
        }
        k += 1;
      } else {
        return false;
      }
    }
    return true;
  }

  MathValue parse_term() {
    size_t begin = pos_;
    MathValue first = parse_unary();
    bool integer_literal =
        (pos_ - begin == 1 && tokens_[begin].type == Tok::number && tokens_[begin].integer) ||
        (pos_ - begin == 2 && tokens_[begin].type == Tok::minus &&
         tokens_[begin + 1].type == Tok::number && tokens_[begin + 1].integer);
    if (integer_literal && mixed_fraction_ahead()) {
      ex whole = expr_of(first);
      ex fraction = expr_of(parse_power_level());
      first =
          make_expression(tokens_[begin].type == Tok::minus ? whole - fraction : whole + fraction);
    }
    Tok type = peek_type();
    if (type != Tok::times && type != Tok::divide && !starts_implicit_factor(type)) return first;
    exvector factors{expr_of(first)};
    while (true) {
      type = peek_type();
      if (type == Tok::times) {
        next();
        factors.push_back(expr_of(parse_unary()));
      } else if (type == Tok::divide) {
        next();
        factors.push_back(GiNaC::pow(expr_of(parse_unary()), -1));
      } else if (starts_implicit_factor(type)) {
        factors.push_back(expr_of(parse_power_level()));
      } else {
        break;
      }
    }
    return make_expression(ex(GiNaC::mul(factors)));
  }

  MathValue parse_unary() {
    DepthGuard guard(*this);
    Tok type = peek_type();
    if (type == Tok::minus) {
      next();
      return make_expression(-expr_of(parse_unary()));
    }
    if (type == Tok::plus) {
      next();
      return parse_unary();
    }
    if (type == Tok::plus_minus || type == Tok::minus_plus) {
      next();
      ex sign = type == Tok::plus_minus ? ex(plus_minus_symbol()) : -plus_minus_symbol();
      return make_expression(sign * expr_of(parse_unary()));
    }
    return parse_power_level();
  }

  ex parse_exponent() {
    DepthGuard guard(*this);
    if (peek_type() == Tok::lbrace) return expr_of(parse_brace_group());
    return expr_of(parse_unary());
  }

  // A primary and its postfix operators: powers, !, %, degrees, primes and units.
  MathValue parse_power_level() {
    MathValue base = parse_primary();
    while (true) {
      Tok type = peek_type();
      if (type == Tok::power) {
        next();
        ex exponent = parse_exponent();
        base = make_expression(checked_power(expr_of(base), exponent));
      } else if (type == Tok::factorial) {
        next();
        base = make_expression(checked_factorial(expr_of(base)));
      } else if (type == Tok::percent || type == Tok::degree) {
        next();
        expr_of(base);
      } else if (type == Tok::prime) {
        next();
        if (!is_exactly_a<GiNaC::symbol>(expr_of(base))) throw SyntaxError("prime");
        base = make_expression(symbol(ex_to<GiNaC::symbol>(base.expression).get_name() + "'"));
      } else if (type == Tok::unit) {
        next();
        expr_of(base);
        if (accept(Tok::power)) parse_exponent();  // cm^2
      } else {
        break;
      }
    }
    return base;
  }

  ex checked_power(const ex& base, const ex& exponent) {
    // e^x is exp(x), so that e^{i\pi} = -1 and e^x and \exp(x) have one form.
    if (base.is_equal(GiNaC::exp(ex(1)))) return GiNaC::exp(exponent);
    if (is_exactly_a<numeric>(exponent)) {
      const numeric& value = ex_to<numeric>(exponent);
      long double p = value.is_rational() ? std::fabs(value.numer().to_double()) : 1;
      spend_bits(power_bits(base, p));
    }
    return GiNaC::pow(base, exponent);
  }

  // n! exactly for modest integers, Gamma(x+1) otherwise.
  ex checked_factorial(const ex& x) {
    if (is_exactly_a<numeric>(x)) {
      const numeric& value = ex_to<numeric>(x);
      if (value.is_integer()) {
        if (value.is_negative()) throw SyntaxError("factorial of a negative integer");
        long double n = value.to_double();
        spend_bits(n * std::log2(std::max<long double>(n, 2)));
        return GiNaC::factorial(value);
      }
      if (!value.is_real() || std::fabs(value.to_double()) > 100) {
        throw BoundError("factorial argument");
      }
    }
    return GiNaC::tgamma(x + 1);
  }

  ex checked_binomial(const ex& n, const ex& k) {
    if (is_exactly_a<numeric>(n) && is_exactly_a<numeric>(k)) {
      const numeric& top = ex_to<numeric>(n);
      const numeric& bottom = ex_to<numeric>(k);
      if (top.is_integer() && bottom.is_integer()) {
        spend_bits(std::fabs(top.to_double()));
        return GiNaC::binomial(top, bottom);
      }
      if (!top.is_real() || std::fabs(top.to_double()) > 100) throw BoundError("binomial");
    }
    return GiNaC::tgamma(n + 1) / (GiNaC::tgamma(k + 1) * GiNaC::tgamma(n - k + 1));
  }

  // --- primaries -----------------------------------------------------------------------

  MathValue parse_primary() {
    DepthGuard guard(*this);
    switch (peek_type()) {
      case Tok::number:
        return parse_number();
      case Tok::letter:
      case Tok::name:
        return parse_variable();
      case Tok::pi:
        next();
        return make_expression(GiNaC::Pi);
      case Tok::infinity:
        next();
        return make_expression(infinity_symbol());
      case Tok::function:
        return parse_function();
      case Tok::frac: {
        next();
        ex numerator = parse_macro_argument();
        ex denominator = parse_macro_argument();
        return make_expression(numerator * GiNaC::pow(denominator, -1));
      }
      case Tok::sqrt:
        return parse_root();
      case Tok::binom: {
        next();
        ex n = parse_macro_argument();
        ex k = parse_macro_argument();
        return make_expression(checked_binomial(n, k));
      }
      case Tok::lparen:
      case Tok::lbracket:
        return parse_bracket();
      case Tok::lbrace:
        return parse_brace_group();
      case Tok::lset:
        return parse_set();
      case Tok::empty_set:
        next();
        return make_items(ValueKind::set, {});
      case Tok::bar:
        return parse_delimited(Tok::bar, [](const ex& e) { return GiNaC::abs(e); });
      case Tok::lfloor:
        return parse_delimited(Tok::rfloor, [](const ex& e) { return ex(floor_of(e)); });
      case Tok::lceil:
        return parse_delimited(Tok::rceil, [](const ex& e) { return ex(ceil_of(e)); });
      case Tok::begin_matrix:
        return parse_matrix();
      default:
        throw SyntaxError("unexpected token");
    }
  }

  ex number_value(const Token& token) {
    std::string digits;
    long fraction_digits = 0;
    bool after_point = false;
    for (char c : token.text) {
      if (c == '.') {
        after_point = true;
      } else {
        digits += c;
        if (after_point) ++fraction_digits;
      }
    }
    if (digits.empty()) digits = "0";
    long scale = token.exponent - fraction_digits;
    spend_bits(std::fabs(static_cast<long double>(scale)) * 3.33L);
    numeric value(digits.c_str());
    return value * numeric(10).power(numeric(scale));
  }

  MathValue parse_number() {
    Token token = next();
    ex value = number_value(token);
    if (token.integer && peek_type() == Tok::subscript) {
      // 204_5: a numeral in base 5.
      next();
      bool braced = accept(Tok::lbrace);
      Token base_token = next();
      if (braced) expect(Tok::rbrace, "'}' after a base");
      if (base_token.type != Tok::number || !base_token.integer || base_token.text.size() > 2) {
        throw SyntaxError("numeral base");
      }
      int base = std::stoi(base_token.text);
      if (base < 2 || base > 10) throw SyntaxError("numeral base");
      numeric total = 0;
      for (char c : token.text) {
        if (c - '0' >= base) throw SyntaxError("digit out of base");
        total = total * base + (c - '0');
      }
      return make_expression(total);
    }
    return make_expression(value);
  }

  std::string token_name(const Token& token) const {
    switch (token.type) {
      case Tok::number:
      case Tok::letter:
      case Tok::name:
      case Tok::word:
      case Tok::function:
      case Tok::unit:
        return token.text;
      case Tok::plus:
        return "+";
      case Tok::minus:
        return "-";
      case Tok::comma:
        return ",";
      case Tok::prime:
        return "'";
      case Tok::pi:
        return "pi";
      case Tok::infinity:
        return "infty";
      default:
        throw SyntaxError("unsupported subscript");
    }
  }

  // x_1, x_{12}, m_{\max}, \theta_w: the subscript is part of the name.
  std::string parse_subscript_name() {
    next();  // '_'
    if (!accept(Tok::lbrace)) return token_name(next());
    std::string name;
    int depth = 1;
    while (true) {
      Tok type = peek_type();
      if (type == Tok::end) throw SyntaxError("unclosed subscript");
      next();
      if (type == Tok::lbrace) {
        ++depth;
      } else if (type == Tok::rbrace) {
        if (--depth == 0) break;
      } else {
        name += token_name(tokens_[pos_ - 1]);
      }
    }
    if (name.empty()) throw SyntaxError("empty subscript");
    return name;
  }

  MathValue parse_variable() {
    Token token = next();
    if (peek_type() == Tok::subscript) {
      return make_expression(symbol(token.text + "_" + parse_subscript_name()));
    }
    if (token.type == Tok::letter && token.text == "e") return make_expression(GiNaC::exp(ex(1)));
    if (token.type == Tok::letter && token.text == "i") return make_expression(GiNaC::I);
    return make_expression(symbol(token.text));
  }

  // Argument of \frac, \sqrt, \binom: a brace group or one token; \frac12 splits digits.
  ex parse_macro_argument() {
    if (peek_type() == Tok::lbrace) return expr_of(parse_brace_group());
    Token& token = tokens_[pos_];
    if (token.type == Tok::number && token.integer && token.text.size() > 1) {
      ex digit = numeric(token.text[0] - '0');
      token.text.erase(0, 1);
      return digit;
    }
    return expr_of(parse_primary());
  }

  MathValue parse_root() {
    next();
    ex index = 2;
    if (accept(Tok::lbracket)) {
      index = expr_of(parse_sum());
      expect(Tok::rbracket, "']' after a root index");
    }
    ex radicand = parse_macro_argument();
    // An odd root of a negative number is the real root, as a reader means it.
    if (is_exactly_a<numeric>(index) && is_exactly_a<numeric>(radicand)) {
      const numeric& n = ex_to<numeric>(index);
      const numeric& x = ex_to<numeric>(radicand);
      if (n.is_odd() && x.is_real() && x.is_negative()) {
        return make_expression(-checked_power(-radicand, GiNaC::pow(index, -1)));
      }
    }
    return make_expression(checked_power(radicand, GiNaC::pow(index, -1)));
  }

  ex apply_function(const std::string& name, const ex& x, bool inverse) {
    if (inverse) {
      if (name == "sin") return GiNaC::asin(x);
      if (name == "cos") return GiNaC::acos(x);
      if (name == "tan") return GiNaC::atan(x);
      throw SyntaxError("inverse of " + name);
    }
    if (name == "sin") return GiNaC::sin(x);
    if (name == "cos") return GiNaC::cos(x);
    if (name == "tan") return GiNaC::tan(x);
    if (name == "cot") return GiNaC::pow(GiNaC::tan(x), -1);
    if (name == "sec") return GiNaC::pow(GiNaC::cos(x), -1);
    if (name == "csc") return GiNaC::pow(GiNaC::sin(x), -1);
    if (name == "arcsin") return GiNaC::asin(x);
    if (name == "arccos") return GiNaC::acos(x);
    if (name == "arctan") return GiNaC::atan(x);
    if (name == "sinh") return GiNaC::sinh(x);
    if (name == "cosh") return GiNaC::cosh(x);
    if (name == "tanh") return GiNaC::tanh(x);
    if (name == "coth") return GiNaC::pow(GiNaC::tanh(x), -1);
    if (name == "ln" || name == "log") return GiNaC::log(x);
    if (name == "lg") return GiNaC::log(x) / GiNaC::log(ex(10));
    if (name == "exp") return GiNaC::exp(x);
    throw SyntaxError("function " + name);
  }

  // \sin x, \sin(x), \sin^2 x, \sin^{-1} x, \log_{2} n, \ln 2.
  MathValue parse_function() {
    std::string name = next().text;
    ex base;
    bool has_base = false;
    if (peek_type() == Tok::subscript) {
      if (name != "log") throw SyntaxError("subscript on " + name);
      next();
      base = parse_macro_argument();
      has_base = true;
    }
    ex outer_power = 1;
    bool inverse = false;
    if (accept(Tok::power)) {
      ex exponent = parse_exponent();
      if (exponent == -1 && (name == "sin" || name == "cos" || name == "tan")) {
        inverse = true;
      } else {
        outer_power = exponent;
      }
    }
    ex argument;
    if (peek_type() == Tok::lparen) {
      argument = expr_of(parse_bracket());
    } else if (peek_type() == Tok::lbrace) {
      argument = expr_of(parse_brace_group());
    } else {
      argument = parse_implicit_argument();
    }
    ex value = apply_function(name, argument, inverse);
    if (has_base) value = value / GiNaC::log(base);
    if (outer_power != 1) value = checked_power(value, outer_power);
    return make_expression(value);
  }

  // The argument of "\sin 2x" or "\ln 2": a run of factors without operators or functions.
  ex parse_implicit_argument() {
    DepthGuard guard(*this);
    exvector factors{expr_of(parse_power_level())};
    while (true) {
      Tok type = peek_type();
      if (type != Tok::number && type != Tok::letter && type != Tok::name && type != Tok::pi &&
          type != Tok::frac && type != Tok::sqrt) {
        break;
      }
      factors.push_back(expr_of(parse_power_level()));
    }
    return ex(GiNaC::mul(factors));
  }

  // ( ... ) and [ ... ]: a group for one item, a tuple or interval for several.
  MathValue parse_bracket() {
    Tok open = next().type;
    std::vector<MathValue> items = parse_items(false);
    Tok close = next().type;
    if (close != Tok::rparen && close != Tok::rbracket) throw SyntaxError("unclosed bracket");
    char open_char = open == Tok::lparen ? '(' : '[';
    char close_char = close == Tok::rparen ? ')' : ']';
    if (items.size() == 1) {
      if ((open_char == '(') != (close_char == ')')) throw SyntaxError("half-open group");
      return items[0];
    }
    return make_items(ValueKind::tuple, std::move(items), open_char, close_char);
  }

  MathValue parse_brace_group() {
    next();
    std::vector<MathValue> items = parse_items(false);
    expect(Tok::rbrace, "'}'");
    if (items.size() == 1) return items[0];
    return make_items(ValueKind::set, std::move(items));
  }

  MathValue parse_set() {
    next();
    if (accept(Tok::rset)) return make_items(ValueKind::set, {});
    std::vector<MathValue> items = parse_items(true);
    expect(Tok::rset, "'\\}'");
    return make_items(ValueKind::set, std::move(items));
  }

  template <typename Apply>
  MathValue parse_delimited(Tok close, Apply apply) {
    next();
    bool bars = close == Tok::bar;
    if (bars) ++abs_depth_;
    ex inner = expr_of(parse_sum());
    if (bars) --abs_depth_;
    expect(close, "closing delimiter");
    return make_expression(apply(inner));
  }

  MathValue parse_matrix() {
    next();
    std::vector<std::vector<MathValue>> rows(1);
    while (peek_type() != Tok::end_matrix) {
      rows.back().push_back(parse_item());
      if (accept(Tok::ampersand)) continue;
      if (accept(Tok::row_end)) {
        rows.emplace_back();
        continue;
      }
      if (peek_type() != Tok::end_matrix) throw SyntaxError("matrix entry");
    }
    next();
    if (rows.back().empty()) rows.pop_back();
    if (rows.empty()) throw SyntaxError("empty matrix");
    size_t columns = rows[0].size();
    for (const auto& row : rows) {
      if (row.size() != columns) throw SyntaxError("ragged matrix");
    }
    // Vectors compare with tuples: a column or a row is the tuple of its entries.
    if (columns == 1) {
      std::vector<MathValue> entries;
      for (auto& row : rows) entries.push_back(std::move(row[0]));
      if (entries.size() == 1) return entries[0];
      return make_items(ValueKind::tuple, std::move(entries), '(', ')');
    }
    if (rows.size() == 1) return make_items(ValueKind::tuple, std::move(rows[0]), '(', ')');
    std::vector<MathValue> row_values;
    for (auto& row : rows) {
      row_values.push_back(make_items(ValueKind::tuple, std::move(row), '(', ')'));
    }
    return make_items(ValueKind::matrix, std::move(row_values));
  }

  std::vector<Token> tokens_;
  const ParseLimits& limits_;
  size_t pos_ = 0;
  int depth_ = 0;
  int abs_depth_ = 0;
  long steps_ = 0;
  long double created_bits_ = 0;
  std::set<std::string> used_symbols_;
};

// Removes the math delimiters ($...$, also between list items as in "$1$, $2$"), surrounding
// space and a sentence's final period.
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

std::string print(const ex& expression) {
  std::ostringstream out;
  out << expression;
  return out.str();
}

}  // namespace

MathValue parse_answer(const std::string& answer, const ParseLimits& limits) {
  if (answer.size() > limits.max_input_bytes) {
    return make_text(ValueKind::invalid,
                     "answer longer than " + std::to_string(limits.max_input_bytes) + " bytes");
  }
  std::string source = strip_delimiters(answer);
  if (source.empty()) return MathValue{};
  if (char letter = choice_letter(source))
    return make_text(ValueKind::choice, std::string(1, letter));
  try {
    std::vector<Token> tokens = Lexer(source, limits).run();
    return Parser(std::move(tokens), limits).parse();
  } catch (const BoundError& error) {
    return make_text(ValueKind::invalid, error.what());
  } catch (const std::exception&) {
    // Not math (SyntaxError), or math GiNaC rejects, such as a division by zero.
  }
  std::string text = normalize_text(source);
  if (text.empty()) return MathValue{};
  return make_text(ValueKind::text, text);
}

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

std::string normalize_text(const std::string& answer) {
  return strip_markup(answer, true);
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
      return "e:" + print(value.expression);
    case ValueKind::equation:
      return "q:" + print(value.expression);
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
