#include "empo/dist/launch.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace empo::dist {

namespace {

// The ranks of the running launch, for the signal handler (fixed-size: no allocation there).
constexpr int kMaxRanks = 1024;
pid_t rank_pids[kMaxRanks];
volatile sig_atomic_t rank_count = 0;

// SIGINT/SIGTERM reach the launcher (a terminal's Ctrl-C, a scheduler's SIGTERM): pass them on
// so every rank stops at the same step; the ranks' own handlers count first and second.
void forward_signal(int number) {
  for (int i = 0; i < rank_count; ++i) kill(rank_pids[i], number);
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

[[noreturn]] void exec_rank(int rank, int nproc, const std::string& store,
                            const std::vector<std::string>& arguments, pid_t launcher) {
  // A rank never outlives its launcher (killed with SIGKILL, it cannot forward anything).
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != launcher) _exit(1);
  setenv("RANK", std::to_string(rank).c_str(), 1);
  setenv("WORLD_SIZE", std::to_string(nproc).c_str(), 1);
  // As torchrun: every rank is on this machine, so a bare `device: cuda` means GPU `rank`.
  setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
  setenv("LOCAL_WORLD_SIZE", std::to_string(nproc).c_str(), 1);
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
  if (nproc > kMaxRanks) throw std::runtime_error("launch: at most 1024 local processes");
  std::vector<pid_t> children;
  const pid_t launcher = getpid();
  struct sigaction forward {};
  forward.sa_handler = forward_signal;
  sigemptyset(&forward.sa_mask);
  forward.sa_flags = SA_RESTART;
  struct sigaction previous_int {
  }, previous_term{};
  sigaction(SIGINT, &forward, &previous_int);
  sigaction(SIGTERM, &forward, &previous_term);
  for (int rank = 0; rank < nproc; ++rank) {
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("launch: fork failed");
    if (pid == 0) {
      // The rank installs its own stop handler; until then a signal keeps its default.
      signal(SIGINT, SIG_DFL);
      signal(SIGTERM, SIG_DFL);
      exec_rank(rank, nproc, folder + "/store", arguments, launcher);
    }
    children.push_back(pid);
    rank_pids[rank] = pid;
    rank_count = rank + 1;
  }
  int result = 0;
  for (size_t finished = 0; finished < children.size(); ++finished) {
    int status = 0;
    pid_t pid = wait(&status);
    if (pid < 0 && errno == EINTR) {
      --finished;
      continue;
    }
    if (pid < 0) break;
    const int code = exit_code(status);
    if (code != 0 && result == 0) {
      result = code;
      // The others would wait for the failed rank at their next collective: end them now
      // (their last checkpoint is intact, every write is atomic).
      for (pid_t child : children)
        if (child != pid) kill(child, SIGKILL);
    }
  }
  rank_count = 0;
  sigaction(SIGINT, &previous_int, nullptr);
  sigaction(SIGTERM, &previous_term, nullptr);
  std::error_code ignored;
  std::filesystem::remove_all(folder, ignored);
  return result;
}

}  // namespace empo::dist
