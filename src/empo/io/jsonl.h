#pragma once
// JSON Lines: one JSON value a line. Reading reports "file:line: reason" on bad lines;
// writing goes to a temporary file renamed into place on commit(), so an interrupted run
// never leaves a half-written output.
#include <fstream>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace empo::io {

using Json = nlohmann::json;

// Calls visit(value, line_number) for every non-blank line; blank lines are skipped.
// Throws InputError naming the file and line for unreadable files or invalid JSON.
void for_each_jsonl(const std::string& path, const std::function<void(const Json&, long)>& visit);
// The same, but a line that is not valid JSON goes to on_bad_line(line, reason) instead.
void for_each_jsonl(const std::string& path, const std::function<void(const Json&, long)>& visit,
                    const std::function<void(long, const std::string&)>& on_bad_line);

// Parses JSON text; InputError "path[:line]: invalid JSON: ..." for anything nlohmann refuses,
// numbers too large for a double (1e400) included: nlohmann throws those as out_of_range, not
// parse_error, so catching parse_error alone lets them escape as internal errors.
Json parse_json(std::string_view text, const std::string& path, long line = 0);

// Reads a whole file into memory; InputError when it cannot be read.
std::string read_file(const std::string& path);

// Writes a file atomically: temp file in the same folder, fsync, rename; `path` is replaced
// only when `write` has finished without error.
void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write);
void write_file_atomic(const std::string& path, const std::string& contents);

class JsonlWriter {
 public:
  explicit JsonlWriter(std::string path);
  ~JsonlWriter();  // without commit(), the temporary file is removed and `path` untouched
  JsonlWriter(const JsonlWriter&) = delete;
  JsonlWriter& operator=(const JsonlWriter&) = delete;

  void write(const Json& value);
  void commit();

 private:
  std::string path_;
  std::string temp_path_;
  std::ofstream out_;
  bool committed_ = false;
};

// Field access that names the file and line when a field is missing or has the wrong type.
const Json& require_field(const Json& object, const char* key, const std::string& path, long line);

}  // namespace empo::io
