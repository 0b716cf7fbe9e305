#include "empo/log/metrics_log.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "empo/io/error.h"

namespace empo::log {

MetricsLog::MetricsLog(std::string path) : path_(std::move(path)) {}

void MetricsLog::append(const io::Json& line) const {
  const std::string text = line.dump(-1, ' ', false, io::Json::error_handler_t::replace) + "\n";
  std::FILE* file = std::fopen(path_.c_str(), "a");
  if (!file) throw_input_error(path_, 0, std::string("cannot append: ") + std::strerror(errno));
  const bool written = std::fwrite(text.data(), 1, text.size(), file) == text.size();
  const bool flushed = std::fflush(file) == 0;
  const bool closed = std::fclose(file) == 0;
  if (!written || !flushed || !closed) throw_input_error(path_, 0, "append failed (disk full?)");
}

void MetricsLog::keep_through(long step) const {
  if (!std::filesystem::exists(path_)) return;
  std::istringstream in(io::read_file(path_));
  std::string kept, line;
  long number = 0;
  bool torn = false;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (torn) throw_input_error(path_, number - 1, "invalid JSON line before the end of the file");
    io::Json value;
    try {
      value = io::parse_json(line, path_, number);
    } catch (const InputError&) {
      torn = true;  // only the last line may be cut short by a crash
      continue;
    }
    if (value.value("step", 0L) <= step) kept += line + "\n";
  }
  io::write_file_atomic(path_, kept);
}

void MetricsLog::remove() const {
  std::error_code ignored;
  std::filesystem::remove(path_, ignored);
}

}  // namespace empo::log
