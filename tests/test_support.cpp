#include "test_support.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
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
  return run_shell("cd '" + folder + "' && " + std::string(EMPO_BINARY) + " " + arguments +
                   " 2>&1");
}

CommandResult run_shell(const std::string& command) {
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

int spawn_empo(const std::vector<std::string>& arguments, const std::string& log_path) {
  std::vector<std::string> argv_strings{EMPO_BINARY};
  argv_strings.insert(argv_strings.end(), arguments.begin(), arguments.end());
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    FILE* log = std::freopen(log_path.c_str(), "w", stdout);
    if (!log || ::dup2(::fileno(stdout), 2) < 0) ::_exit(126);
    std::vector<char*> argv;
    for (auto& argument : argv_strings) argv.push_back(argument.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

int wait_empo(int pid, double timeout_seconds) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
  while (true) {
    int status = 0;
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string build_dir() {
  return std::filesystem::path(EMPO_BINARY).parent_path().string();
}

size_t count(const std::string& text, const std::string& pattern) {
  size_t found = 0;
  for (size_t at = text.find(pattern); at != std::string::npos; at = text.find(pattern, at + 1))
    ++found;
  return found;
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
