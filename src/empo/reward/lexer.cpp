#include "empo/reward/lexer.h"

#include <map>
#include <set>

#include "empo/reward/markup.h"

namespace empo::reward::detail {

namespace {

const std::set<std::string>& function_names() {
  static const std::set<std::string> names = {
      "gcd",    "lcm",    "max",  "min",  "sin",  "cos",  "tan", "cot", "sec", "csc", "arcsin",
      "arccos", "arctan", "sinh", "cosh", "tanh", "coth", "ln",  "log", "lg",  "exp"};
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
      "unit",      "units",      "square",  "sq",         "cubic",   "cm",         "mm",
      "km",        "meter",      "meters",  "metre",      "metres",  "centimeter", "centimeters",
      "kilometer", "kilometers", "inch",    "inches",     "in",      "foot",       "feet",
      "ft",        "yard",       "yards",   "yd",         "mile",    "miles",      "mph",
      "kg",        "gram",       "grams",   "pound",      "pounds",  "lb",         "lbs",
      "ounce",     "ounces",     "oz",      "second",     "seconds", "minute",     "minutes",
      "hour",      "hours",      "hr",      "hrs",        "day",     "days",       "week",
      "weeks",     "month",      "months",  "year",       "years",   "degree",     "degrees",
      "deg",       "radian",     "radians", "cent",       "cents",   "dollar",     "dollars",
      "percent",   "liter",      "liters",  "litre",      "litres",  "ml",         "gallon",
      "gallons",   "mps",        "pct",     "percentage", "percents"};
  return names;
}

// One- and two-letter unit symbols, units only inside a text wrapper ("5\text{ m}", where a
// bare "5m" is a product).
const std::set<std::string>& unit_symbols() {
  static const std::set<std::string> names = {"m", "s", "g", "l", "h", "min", "kph", "kmh"};
  return names;
}

bool is_unit_phrase(const std::string& content) {
  std::string word;
  bool any = false;
  auto flush = [&]() {
    if (word.empty()) return true;
    bool known = unit_words().count(lowercase(word)) > 0 || unit_symbols().count(word) > 0;
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
  static bool starts_item(Tok type) {
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
      case Tok::minus:
      case Tok::plus_minus:
      case Tok::lparen:
      case Tok::lbracket:
      case Tok::lset:
      case Tok::lfloor:
      case Tok::lceil:
      case Tok::empty_set:
      case Tok::begin_matrix:
      case Tok::big_operator:
        return true;
      default:
        return false;
    }
  }

  static bool ends_item(Tok type) {
    switch (type) {
      case Tok::number:
      case Tok::letter:
      case Tok::name:
      case Tok::pi:
      case Tok::infinity:
      case Tok::rparen:
      case Tok::rbracket:
      case Tok::rbrace:
      case Tok::rset:
      case Tok::rfloor:
      case Tok::rceil:
      case Tok::percent:
      case Tok::degree:
      case Tok::prime:
      case Tok::unit:
      case Tok::end_matrix:
      case Tok::empty_set:
        return true;
      default:
        return false;
    }
  }

  // \quad between two complete items separates them; elsewhere it is only space.
  void resolve_separator(Tok next) {
    if (!separator_pending_) return;
    separator_pending_ = false;
    if (!out_.empty() && ends_item(out_.back().type) && starts_item(next) && bracket_depth_ == 0) {
      Token comma;
      comma.type = Tok::comma;
      out_.push_back(std::move(comma));
    }
  }

  // `alone`, or `with_equals` when the next character is '=' (consumed): "<" vs "<=".
  void emit_unless_equals_follows(Tok alone, Tok with_equals) {
    if (i_ < text_.size() && text_[i_] == '=') {
      ++i_;
      emit(with_equals);
    } else {
      emit(alone);
    }
  }

  void emit(Tok type, std::string text = "") {
    resolve_separator(type);
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
        emit(Tok::semicolon);
        return;
      case ':':
        emit(Tok::ratio);
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
        emit_unless_equals_follows(Tok::factorial, Tok::not_equal);
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
        emit_unless_equals_follows(Tok::less, Tok::less_equal);
        return;
      case '>':
        emit_unless_equals_follows(Tok::greater, Tok::greater_equal);
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
                                                          {"\xE2\x89\x88", Tok::approx},
                                                          {"\xE2\x88\x85", Tok::empty_set},
                                                          {"\xE2\x89\xA0", Tok::not_equal},
                                                          {"\xE2\x88\x88", Tok::in},
                                                          {"\xE2\x8B\x85", Tok::times},
                                                          {"\xE2\x88\x97", Tok::times}};
    for (const auto& [bytes, type] : symbols) {
      if (at(i_, bytes)) {
        i_ += std::char_traits<char>::length(bytes);
        emit(type);
        return;
      }
    }
    // Superscript digits are powers: x² = x^2.
    static const std::pair<const char*, const char*> superscripts[] = {
        {"\xC2\xB2", "2"}, {"\xC2\xB3", "3"}, {"\xC2\xB9", "1"}, {"\xE2\x81\xB4", "4"}};
    for (const auto& [bytes, digit] : superscripts) {
      if (at(i_, bytes)) {
        i_ += std::char_traits<char>::length(bytes);
        emit(Tok::power);
        Token token;
        token.type = Tok::number;
        token.text = digit;
        token.integer = true;
        out_.push_back(std::move(token));
        return;
      }
    }
    // Currency signs are dropped like "\$": 1,000.99 followed by the euro sign is 1000.99.
    for (const char* currency : {"\xE2\x82\xAC", "\xC2\xA3", "\xC2\xA5"}) {
      if (at(i_, currency)) {
        i_ += std::char_traits<char>::length(currency);
        return;
      }
    }
    // Greek letters are the names \alpha, ... spell.
    static const std::pair<const char*, const char*> greek[] = {
        {"\xCE\xB1", "alpha"}, {"\xCE\xB2", "beta"},   {"\xCE\xB3", "gamma"},
        {"\xCE\xB4", "delta"}, {"\xCE\xB8", "theta"},  {"\xCE\xBB", "lambda"},
        {"\xCE\xBC", "mu"},    {"\xCF\x83", "sigma"},  {"\xCF\x86", "phi"},
        {"\xCF\x89", "omega"}, {"\xCE\xB5", "epsilon"}};
    for (const auto& [bytes, name] : greek) {
      if (at(i_, bytes)) {
        i_ += std::char_traits<char>::length(bytes);
        emit(Tok::name, name);
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
    resolve_separator(Tok::number);
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
                                                      {"neq", Tok::not_equal},
                                                      {"ne", Tok::not_equal},
                                                      {"choose", Tok::choose},
                                                      {"sum", Tok::big_operator},
                                                      {"prod", Tok::big_operator},
                                                      {"emptyset", Tok::empty_set},
                                                      {"varnothing", Tok::empty_set},
                                                      {"vert", Tok::bar},
                                                      {"lvert", Tok::bar},
                                                      {"rvert", Tok::bar}};
    auto found = simple.find(name);
    if (found != simple.end()) {
      emit(found->second, found->second == Tok::big_operator ? name : "");
    } else if (name == "quad" || name == "qquad") {
      separator_pending_ = true;  // "x=1 \quad y=2": two answers
    } else if (spacing_commands().count(name)) {
      // \left. and \right. are invisible delimiters
      if ((name == "left" || name == "right") && i_ < text_.size() && text_[i_] == '.') ++i_;
    } else if (function_names().count(name)) {
      emit(Tok::function, name);
    } else if (greek_names().count(name)) {
      emit(Tok::name, name);
    } else if (name == "text" || name == "textbf" || name == "textit" || name == "textrm" ||
               name == "textsf" || name == "texttt" || name == "textup" || name == "textnormal" ||
               name == "mbox" || name == "hbox" || name == "emph" || name == "mathrm") {
      lex_text_wrapper();
    } else if (wrapper_commands().count(name) || name == "mathbb" || name == "mathcal") {
      size_t open = skip_spaces(i_);
      if (open < text_.size() && text_[open] == '{') {
        i_ = open + 1;
        drop_close_.push_back(true);
      }
    } else if (name == "begin" || name == "end") {
      std::string environment = environment_name();
      static const std::set<std::string> matrices = {"pmatrix", "bmatrix",     "Bmatrix",
                                                     "matrix",  "smallmatrix", "array"};
      if (!matrices.count(environment)) throw SyntaxError("environment " + environment);
      if (name == "begin" && environment == "array") {
        // \begin{array}{cc}: the column spec is layout, not an entry.
        size_t open = skip_spaces(i_);
        std::string columns;
        size_t after;
        if (open < text_.size() && text_[open] == '{' && brace_content(open, &columns, &after)) {
          i_ = after;
        }
      }
      emit(name == "begin" ? Tok::begin_matrix : Tok::end_matrix);
    } else {
      emit(Tok::word, name);  // \max in a subscript is a name; elsewhere not math
    }
  }

  const std::string& text_;
  const ParseLimits& limits_;
  size_t i_ = 0;
  int bracket_depth_ = 0;
  bool separator_pending_ = false;
  std::vector<bool> drop_close_;
  std::vector<Token> out_;
};

}  // namespace

std::vector<Token> lex(const std::string& text, const ParseLimits& limits) {
  return Lexer(text, limits).run();
}

}  // namespace empo::reward::detail
