#include "empo/text/jinja_lexer.h"

#include <cctype>

#include "empo/text/jinja_value.h"
#include "empo/text/utf8.h"

namespace empo::text::jinja {
namespace {

bool is_name_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Python's str.rstrip(): trailing whitespace in Python's (Unicode) sense.
std::string python_rstrip(const std::string& text) {
  auto points = code_points(text);
  size_t end = points.size();
  while (end > 0 && is_python_whitespace(points[end - 1])) --end;
  return end == points.size() ? text : from_code_points(points, 0, end);
}

bool all_python_whitespace(const std::string& text) {
  for (uint32_t point : code_points(text))
    if (!is_python_whitespace(point)) return false;
  return true;
}

long count_newlines(const std::string& text, size_t begin, size_t end) {
  long count = 0;
  for (size_t i = begin; i < end && i < text.size(); ++i) count += text[i] == '\n';
  return count;
}

// Decodes a string literal's escapes as Python's unicode-escape codec does.
std::string unescape(const std::string& body, long line) {
  std::string out;
  auto hex_value = [&](size_t start, size_t digits, uint32_t& value) {
    if (start + digits > body.size()) return false;
    value = 0;
    for (size_t i = start; i < start + digits; ++i) {
      char c = body[i];
      int digit = is_digit(c)              ? c - '0'
                  : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                  : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                           : -1;
      if (digit < 0) return false;
      value = value * 16 + static_cast<uint32_t>(digit);
    }
    return true;
  };
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\' || i + 1 == body.size()) {
      out += body[i];
      continue;
    }
    const char escaped = body[++i];
    switch (escaped) {
      case '\n':  // a backslash at the end of a line continues it
        break;
      case '\\':
      case '\'':
      case '"':
        out += escaped;
        break;
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case 'a':
        out += '\a';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'v':
        out += '\v';
        break;
      case 'x':
      case 'u':
      case 'U': {
        const size_t digits = escaped == 'x' ? 2 : escaped == 'u' ? 4 : 8;
        uint32_t value = 0;
        if (!hex_value(i + 1, digits, value) || value > 0x10FFFF ||
            (value >= 0xD800 && value <= 0xDFFF))
          throw Error("truncated or invalid \\" + std::string(1, escaped) + " escape in a string",
                      line);
        append_utf8(value, out);
        i += digits;
        break;
      }
      default:
        if (escaped >= '0' && escaped <= '7') {
          uint32_t value = static_cast<uint32_t>(escaped - '0');
          for (int extra = 0;
               extra < 2 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7';
               ++extra)
            value = value * 8 + static_cast<uint32_t>(body[++i] - '0');
          append_utf8(value, out);
        } else if (escaped == 'N') {
          throw Error("\\N{...} escapes are not supported in chat templates", line);
        } else {
          out += '\\';  // Python keeps unknown escapes as they are
          out += escaped;
        }
    }
  }
  return out;
}

class Lexer {
 public:
  explicit Lexer(std::string source) : source_(std::move(source)) {}

  std::vector<Token> run() {
    bool line_starting = true;
    while (position_ < source_.size()) {
      const size_t tag = find_tag(position_);
      std::string text = source_.substr(position_, tag - position_);
      if (tag == source_.size()) {
        add_data(text);
        break;
      }
      const char kind = source_[tag + 1];  // '{', '%' or '#'
      const char sign = tag + 2 < source_.size() ? source_[tag + 2] : '\0';
      if (sign == '-') {
        text = python_rstrip(text);
      } else if (sign != '+' && kind != '{') {
        // lstrip_blocks: only whitespace between the line's start and the tag.
        const size_t line_start = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
        if ((line_start > 0 || line_starting) && all_python_whitespace(text.substr(line_start)))
          text.erase(line_start);
      }
      add_data(text);
      line_ += count_newlines(source_, position_, tag);
      position_ = tag + 2 + (sign == '-' || sign == '+' ? 1 : 0);
      if (kind == '#')
        skip_comment();
      else
        lex_tag(kind == '{');
      line_starting = position_ > 0 && source_[position_ - 1] == '\n';
    }
    tokens_.push_back({Token::Type::end, "", line_});
    return std::move(tokens_);
  }

 private:
  size_t find_tag(size_t from) const {
    for (size_t i = from; i + 1 < source_.size(); ++i)
      if (source_[i] == '{' &&
          (source_[i + 1] == '{' || source_[i + 1] == '%' || source_[i + 1] == '#'))
        return i;
    return source_.size();
  }

  void add_data(const std::string& text) {
    if (!text.empty()) tokens_.push_back({Token::Type::data, text, line_});
  }

  // After a closing "-%}" every whitespace character goes; after "%}" / "#}" one newline.
  void after_close(bool strip, bool block) {
    if (strip) {
      auto points_end = position_;
      while (points_end < source_.size()) {
        uint32_t point = 0;
        size_t length = decode_utf8_character(source_, points_end, point);
        if (length == 0 || !is_python_whitespace(point)) break;
        points_end += length;
      }
      line_ += count_newlines(source_, position_, points_end);
      position_ = points_end;
    } else if (block && position_ < source_.size() && source_[position_] == '\n') {
      ++line_;
      ++position_;
    }
  }

  void skip_comment() {
    const long start_line = line_;
    const size_t close = source_.find("#}", position_);
    if (close == std::string::npos) throw Error("unterminated comment", start_line);
    const bool strip = close > position_ && source_[close - 1] == '-';
    line_ += count_newlines(source_, position_, close);
    position_ = close + 2;
    after_close(strip, true);
  }

  void lex_tag(bool variable) {
    const long start_line = line_;
    tokens_.push_back(
        {variable ? Token::Type::variable_begin : Token::Type::block_begin, "", line_});
    int open_braces = 0;
    while (true) {
      while (position_ < source_.size() &&
             std::isspace(static_cast<unsigned char>(source_[position_]))) {
        line_ += source_[position_] == '\n';
        ++position_;
      }
      if (position_ >= source_.size())
        throw Error(std::string("unterminated ") + (variable ? "{{ ... }}" : "{% ... %}"),
                    start_line);
      if (open_braces == 0 && closes(variable)) return;
      const char c = source_[position_];
      if (is_name_start(c)) {
        size_t end = position_;
        while (end < source_.size() && is_name_char(source_[end])) ++end;
        tokens_.push_back({Token::Type::name, source_.substr(position_, end - position_), line_});
        position_ = end;
      } else if (is_digit(c)) {
        lex_number();
      } else if (c == '\'' || c == '"') {
        lex_string(c);
      } else {
        lex_operator(open_braces);
      }
    }
  }

  // Consumes the closing "}}" / "%}" (with its "-" or "+") when it starts here.
  bool closes(bool variable) {
    const char closing = variable ? '}' : '%';
    size_t at = position_;
    bool strip = false;
    if (source_[at] == '-' || source_[at] == '+') {
      strip = source_[at] == '-';
      ++at;
    }
    if (at + 1 >= source_.size() || source_[at] != closing || source_[at + 1] != '}') return false;
    tokens_.push_back({variable ? Token::Type::variable_end : Token::Type::block_end, "", line_});
    const bool keep_newline = source_[position_] == '+';
    position_ = at + 2;
    after_close(strip, !variable && !keep_newline);
    return true;
  }

  void lex_number() {
    size_t end = position_;
    auto digits = [&]() {
      while (end < source_.size() && (is_digit(source_[end]) || source_[end] == '_')) ++end;
    };
    digits();
    bool floating = false;
    if (end + 1 < source_.size() && source_[end] == '.' && is_digit(source_[end + 1])) {
      floating = true;
      ++end;
      digits();
    }
    if (end < source_.size() && (source_[end] == 'e' || source_[end] == 'E')) {
      size_t exponent = end + 1;
      if (exponent < source_.size() && (source_[exponent] == '+' || source_[exponent] == '-'))
        ++exponent;
      if (exponent < source_.size() && is_digit(source_[exponent])) {
        floating = true;
        end = exponent;
        digits();
      }
    }
    std::string text;
    for (size_t i = position_; i < end; ++i)
      if (source_[i] != '_') text += source_[i];
    tokens_.push_back({floating ? Token::Type::floating : Token::Type::integer, text, line_});
    position_ = end;
  }

  void lex_string(char quote) {
    const long start_line = line_;
    size_t end = position_ + 1;
    while (end < source_.size() && source_[end] != quote) end += source_[end] == '\\' ? 2 : 1;
    if (end >= source_.size()) throw Error("unterminated string", start_line);
    const std::string body = source_.substr(position_ + 1, end - position_ - 1);
    tokens_.push_back({Token::Type::string, unescape(body, start_line), start_line});
    line_ += count_newlines(source_, position_, end);
    position_ = end + 1;
  }

  void lex_operator(int& open_braces) {
    static const char* const kTwoCharacter[] = {"//", "**", "==", "!=", "<=", ">="};
    for (const char* candidate : kTwoCharacter)
      if (source_.compare(position_, 2, candidate) == 0) {
        tokens_.push_back({Token::Type::operator_, candidate, line_});
        position_ += 2;
        return;
      }
    const char c = source_[position_];
    const std::string single = "+-*/%~<>=.,:|()[]{}";
    if (single.find(c) == std::string::npos)
      throw Error(std::string("unexpected character '") + c + "' in an expression", line_);
    if (c == '{') ++open_braces;
    if (c == '}') --open_braces;
    tokens_.push_back({Token::Type::operator_, std::string(1, c), line_});
    ++position_;
  }

  std::string source_;
  size_t position_ = 0;
  long line_ = 1;
  std::vector<Token> tokens_;
};

}  // namespace

std::string normalize_newlines(const std::string& source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size();) {
    const unsigned char c = static_cast<unsigned char>(source[i]);
    if (c == '\r') {
      out += '\n';
      i += (i + 1 < source.size() && source[i + 1] == '\n') ? 2 : 1;
    } else if (c == '\x0b' || c == '\x0c' || c == '\x1c' || c == '\x1d' || c == '\x1e') {
      out += '\n';
      ++i;
    } else if (source.compare(i, 2, "\xC2\x85") == 0) {  // U+0085
      out += '\n';
      i += 2;
    } else if (source.compare(i, 3, "\xE2\x80\xA8") == 0 ||  // U+2028, U+2029
               source.compare(i, 3, "\xE2\x80\xA9") == 0) {
      out += '\n';
      i += 3;
    } else {
      out += source[i++];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::vector<Token> tokenize(const std::string& source) {
  return Lexer(normalize_newlines(source)).run();
}

}  // namespace empo::text::jinja
