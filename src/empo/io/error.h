#pragma once
// Errors that the CLI maps to exit codes: InputError (bad user input: a file, a line, a
// tensor, a config key) exits 2; anything else exits 1.
#include <stdexcept>
#include <string>

namespace empo {

class InputError : public std::runtime_error {
 public:
  explicit InputError(const std::string& message) : std::runtime_error(message) {}
};

// "path:line: what" when a line is known (line >= 1), else "path: what".
std::string located(const std::string& path, long line, const std::string& what);

[[noreturn]] void throw_input_error(const std::string& path, long line, const std::string& what);

}  // namespace empo
