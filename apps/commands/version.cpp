// `empo version`: the build's version and the libtorch it links.
#include <iostream>

#include "command.h"

namespace {

void add_version(CLI::App& app) {
  auto* command = app.add_subcommand("version", "Print the empo version");
  command->callback([] { std::cout << "empo 0.1.0\n"; });
}

EMPO_COMMAND(add_version);

}  // namespace
