// `empo report RUN_DIR...`: demo results as Markdown tables.
#include <iostream>

#include "command.h"
#include "empo/log/report.h"

namespace {

void add_report(CLI::App& app) {
  auto run_dirs = std::make_shared<std::vector<std::string>>();
  auto curves = std::make_shared<bool>(false);
  auto* command =
      app.add_subcommand("report", "Tabulate demo runs (results.json, curve.jsonl) as Markdown");
  command->add_option("runs", *run_dirs, "run folders")->required();
  command->add_flag("--curves", *curves, "also print each run's accuracy curve");
  command->callback([run_dirs, curves] {
    std::vector<empo::log::RunReport> runs;
    for (const auto& dir : *run_dirs) runs.push_back(empo::log::read_run(dir));
    std::cout << empo::log::results_table(runs) << "\n" << empo::log::summary_table(runs);
    if (*curves)
      for (const auto& run : runs)
        if (!run.curve.empty())
          std::cout << "\n" << run.run_dir << "\n\n" << empo::log::curve_table(run);
  });
}

EMPO_COMMAND(add_report);

}  // namespace
