#include "empo/dist/launch.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace empo::dist {

namespace {

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

[[noreturn]] void exec_rank(int rank, int nproc, const std::string& store,
                            const std::vector<std::string>& arguments) {
  setenv("RANK", std::to_string(rank).c_str(), 1);
  setenv("WORLD_SIZE", std::to_string(nproc).c_str(), 1);
  setenv("EMPO_DIST_FILE", store.c_str(), 1);
  if (!getenv("EMPO_THREADS")) {
    const int cores = static_cast<int>(std::thread::hardware_concurrency());
    setenv("EMPO_THREADS", std::to_string(std::max(1, cores / nproc)).c_str(), 1);
  }
  std::vector<char*> argv;
  for (const auto& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
  argv.push_back(nullptr);
  execv("/proc/self/exe", argv.data());
  std::perror("empo: exec");
  _exit(127);
}

}  // namespace

int launch_local(int nproc, const std::vector<std::string>& arguments) {
  char pattern[] = "/tmp/empo-dist-XXXXXX";
  if (!mkdtemp(pattern)) throw std::runtime_error("launch: cannot create a rendezvous folder");
  const std::string folder = pattern;
  std::vector<pid_t> children;
  for (int rank = 0; rank < nproc; ++rank) {
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("launch: fork failed");
    if (pid == 0) exec_rank(rank, nproc, folder + "/store", arguments);
    children.push_back(pid);
  }
  int result = 0;
  for (size_t finished = 0; finished < children.size(); ++finished) {
    int status = 0;
    pid_t pid = wait(&status);
    if (pid < 0) break;
    const int code = exit_code(status);
    if (code != 0 && result == 0) {
      result = code;
      for (pid_t child : children)
        if (child != pid) kill(child, SIGTERM);
    }
  }
  std::error_code ignored;
  std::filesystem::remove_all(folder, ignored);
  return result;
}

}  // namespace empo::dist
