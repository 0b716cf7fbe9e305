#pragma once
// Shared helpers for tests: fixture paths, temp folders, running the empo binary.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace empo::test {

std::string fixture(const std::string& relative);      // tests/fixtures/<relative>
std::string source_path(const std::string& relative);  // <repo>/<relative>
std::string temp_dir(const std::string& name);         // fresh empty folder per call

struct CommandResult {
  int exit_code;
  std::string output;  // stdout and stderr together
};
// Runs `empo <arguments>` through the shell.
CommandResult run_empo(const std::string& arguments);
// The same with `folder` as the working directory.
CommandResult run_empo_in(const std::string& folder, const std::string& arguments);
// Any shell command (e.g. a Python reference); `output` is its stdout.
CommandResult run_shell(const std::string& command);
// Where the empo binary was built (the build folder): keeps test artefacts worth looking at.
std::string build_dir();

// Starts `empo <arguments>` in the background (stdout and stderr to `log_path`); returns its
// pid. wait_empo returns its exit code (128 + signal when killed), or -1 when it is still
// running after `timeout_seconds` (it is then killed).
int spawn_empo(const std::vector<std::string>& arguments, const std::string& log_path);
int wait_empo(int pid, double timeout_seconds);

// How many times `pattern` occurs in `text` (overlapping occurrences included).
size_t count(const std::string& text, const std::string& pattern);

void write_text(const std::string& path, const std::string& contents);
// Every non-empty line of a JSONL file, parsed.
std::vector<nlohmann::json> read_jsonl(const std::string& path);
std::string read_text(const std::string& path);

}  // namespace empo::test
