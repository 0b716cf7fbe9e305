#pragma once
// Each file in apps/commands/ adds one subcommand: it parses flags and calls the library.
// EMPO_COMMAND(add_x) registers `void add_x(CLI::App& app)`, which creates the subcommand
// and sets its callback.
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace empo::cli {

using AddCommand = void (*)(CLI::App& app);
int register_command(AddCommand add);

// The process's own argv, for commands that start copies of themselves (train --nproc).
const std::vector<std::string>& command_line();

}  // namespace empo::cli

#define EMPO_COMMAND(add) \
  [[maybe_unused]] static const int add##_registered = ::empo::cli::register_command(add)
