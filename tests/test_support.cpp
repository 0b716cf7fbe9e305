#include "test_support.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace empo::test {

std::string fixture(const std::string& relative) {
  return std::string(EMPO_FIXTURES_DIR) + "/" + relative;
}

std::string source_path(const std::string& relative) {
  return std::string(EMPO_SOURCE_DIR) + "/" + relative;
}

namespace {

// Every folder temp_dir made, removed when the test binary exits (kept with EMPO_KEEP_TEMP=1
// for debugging).
struct TempDirs {
  std::vector<std::filesystem::path> paths;
  ~TempDirs() {
    if (std::getenv("EMPO_KEEP_TEMP")) return;
    std::error_code ignored;
    for (const auto& path : paths) std::filesystem::remove_all(path, ignored);
  }
};
TempDirs temp_dirs;

}  // namespace

std::string temp_dir(const std::string& name) {
  static std::atomic<int> counter{0};
  auto path =
      std::filesystem::temp_directory_path() /
      ("empo_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" + name);
  std::filesystem::remove_all(path);
  std::filesystem::create_directories(path);
  temp_dirs.paths.push_back(path);
  return path.string();
}

CommandResult run_empo(const std::string& arguments) {
  return run_empo_in(".", arguments);
}

CommandResult run_empo_in(const std::string& folder, const std::string& arguments) {
  std::string command =
      "cd '" + folder + "' && " + std::string(EMPO_BINARY) + " " + arguments + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("popen failed: " + command);
  std::string output;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    output.append(buffer.data(), n);
  int status = ::pclose(pipe);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return {code, output};
}

void write_text(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary);
  out << contents;
}

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(read_text(path));
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

}  // namespace empo::test
