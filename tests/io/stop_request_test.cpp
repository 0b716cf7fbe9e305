#include "empo/io/stop_request.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace empo::io {

TEST(StopRequest, FirstSignalAsksSecondExitsAtOnce) {
  // In a child, so the test process keeps its own signal dispositions.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    StopRequest::install();
    if (StopRequest::requested()) _exit(10);
    raise(SIGTERM);
    if (!StopRequest::requested() || StopRequest::signal_number() != SIGTERM) _exit(11);
    raise(SIGINT);  // the second signal ends the process with 128 + SIGINT
    _exit(12);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGINT);
}

}  // namespace empo::io
