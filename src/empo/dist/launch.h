#pragma once
// A local launcher, like torchrun on one machine: runs `arguments` (argv[0] included) as
// `nproc` processes with RANK, WORLD_SIZE and EMPO_DIST_FILE set, splits the cores between
// them, and stops the others as soon as one fails so that none waits forever in a collective.
#include <string>
#include <vector>

namespace empo::dist {

// Returns 0 when every process succeeded, else the first failing process's exit code (or
// 128 + signal).
int launch_local(int nproc, const std::vector<std::string>& arguments);

}  // namespace empo::dist
