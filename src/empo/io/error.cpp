#include "empo/io/error.h"

namespace empo {

std::string located(const std::string& path, long line, const std::string& what) {
  if (line >= 1) return path + ":" + std::to_string(line) + ": " + what;
  return path + ": " + what;
}

void throw_input_error(const std::string& path, long line, const std::string& what) {
  throw InputError(located(path, line, what));
}

}  // namespace empo
