#include "empo/io/stop_request.h"

#include <signal.h>
#include <unistd.h>

#include <csignal>

namespace empo::io {

namespace {

volatile std::sig_atomic_t received = 0;

void on_signal(int number) {
  if (received != 0) _exit(128 + number);
  received = number;
  static const char message[] =
      "\nempo: stop requested: finishing this step and writing a checkpoint "
      "(signal again to exit at once)\n";
  [[maybe_unused]] auto ignored = ::write(STDERR_FILENO, message, sizeof message - 1);
}

}  // namespace

void StopRequest::install() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

bool StopRequest::requested() {
  return received != 0;
}

int StopRequest::signal_number() {
  return received;
}

void StopRequest::clear() {
  received = 0;
}

}  // namespace empo::io
