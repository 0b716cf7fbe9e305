#pragma once
// Comma-separated values as RFC 4180 defines them: records end in CRLF or LF, fields are
// separated by commas, and a field in double quotes may hold commas, line breaks and doubled
// quotes ("" is one "). Deliberately strict, so that a damaged file fails with its line
// instead of silently shifting columns: a quote inside an unquoted field, text after a
// closing quote, or a quote left open at the end of the file is an InputError.
#include <string>
#include <string_view>
#include <vector>

namespace empo::io {

struct CsvRecord {
  long line = 0;  // line of the file where the record starts (1-based)
  std::vector<std::string> fields;
};

// Every record of `text`; `origin` names the source in errors ("path:line: ..."). Empty lines
// are skipped (a file's final line break is optional); a UTF-8 byte order mark is dropped.
std::vector<CsvRecord> parse_csv(std::string_view text, const std::string& origin);

// The same for a file; InputError when it cannot be read.
std::vector<CsvRecord> read_csv(const std::string& path);

}  // namespace empo::io
