#pragma once
// SIGINT / SIGTERM as a request to stop cleanly. The first signal only sets a flag that the
// trainer reads between optimizer steps (it then writes a checkpoint and exits 0); a second
// one ends the process at once with 128 + signal. Every output is written atomically, so the
// immediate exit leaves the last good checkpoint intact.
namespace empo::io {

class StopRequest {
 public:
  // Installs the handlers (idempotent).
  static void install();
  // True once a first SIGINT/SIGTERM arrived since install().
  static bool requested();
  // The signal that asked, 0 when none.
  static int signal_number();
  // Forgets a request (tests, and a process that handled one and goes on).
  static void clear();
};

}  // namespace empo::io
