#include "empo/io/csv.h"

#include "empo/io/error.h"
#include "empo/io/jsonl.h"

namespace empo::io {
namespace {

// A record boundary: LF, or CRLF (a lone CR inside an unquoted field is kept as text).
bool at_line_break(std::string_view text, size_t i) {
  return text[i] == '\n' || (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n');
}

size_t line_break_length(std::string_view text, size_t i) {
  return text[i] == '\r' ? 2 : 1;
}

}  // namespace

std::vector<CsvRecord> parse_csv(std::string_view text, const std::string& origin) {
  constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
  if (text.substr(0, kByteOrderMark.size()) == kByteOrderMark)
    text.remove_prefix(kByteOrderMark.size());

  std::vector<CsvRecord> records;
  long line = 1;
  size_t i = 0;
  while (i < text.size()) {
    if (at_line_break(text, i)) {  // an empty line holds no record
      i += line_break_length(text, i);
      ++line;
      continue;
    }
    CsvRecord record;
    record.line = line;
    while (true) {  // one field per pass; i is at the field's first character
      std::string field;
      if (i < text.size() && text[i] == '"') {
        const long opened_at = line;
        ++i;
        while (true) {
          if (i >= text.size())
            throw_input_error(origin, opened_at,
                              "unterminated quoted field (the closing \" is missing)");
          if (text[i] == '"') {
            if (i + 1 < text.size() && text[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (text[i] == '\n') ++line;
          field += text[i++];
        }
        if (i < text.size() && text[i] != ',' && !at_line_break(text, i))
          throw_input_error(origin, line,
                            "text after a closing quote (a quote inside a quoted field is "
                            "written \"\")");
      } else {
        while (i < text.size() && text[i] != ',' && !at_line_break(text, i)) {
          if (text[i] == '"')
            throw_input_error(origin, line,
                              "a quote inside an unquoted field (quote the whole field and "
                              "write the quote as \"\")");
          field += text[i++];
        }
      }
      record.fields.push_back(std::move(field));
      if (i < text.size() && text[i] == ',') {
        ++i;
        continue;
      }
      break;  // end of the record: a line break or the end of the text
    }
    records.push_back(std::move(record));
    if (i < text.size()) {
      i += line_break_length(text, i);
      ++line;
    }
  }
  return records;
}

std::vector<CsvRecord> read_csv(const std::string& path) {
  return parse_csv(read_file(path), path);
}

}  // namespace empo::io
