// empo: one binary, git-style subcommands (see apps/commands/). Exit codes: 0 success,
// 2 bad input (file, line or tensor named on stderr), 1 internal failure.
#include <iostream>
#include <string>
#include <vector>

#include "command.h"
#include "empo/io/error.h"
#include "empo/model/runtime.h"

namespace empo::cli {

static std::vector<AddCommand>& registry() {
  static std::vector<AddCommand> commands;
  return commands;
}

static std::vector<std::string>& arguments() {
  static std::vector<std::string> values;
  return values;
}

const std::vector<std::string>& command_line() {
  return arguments();
}

int register_command(AddCommand add) {
  registry().push_back(add);
  return static_cast<int>(registry().size());
}

}  // namespace empo::cli

int main(int argc, char** argv) {
  empo::model::use_native_blas_kernels(argv);
  // `empo --version` is `empo version` (one place prints it).
  static char version_command[] = "version";
  if (argc == 2 && std::string(argv[1]) == "--version") argv[1] = version_command;
  empo::cli::arguments().assign(argv, argv + argc);
  CLI::App app{"empo: entropy-minimised policy optimisation, fully unsupervised LLM reasoning RL"};
  app.require_subcommand(1);
  for (auto add : empo::cli::registry()) add(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    int code = app.exit(error);
    return code == 0 ? 0 : 2;
  } catch (const empo::InputError& error) {
    std::cerr << "empo: error: " << error.what() << "\n";
    return 2;
  } catch (const std::exception& error) {
    std::cerr << "empo: internal error: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
