// `empo report RUN_DIR...`: RUN_DIR/report.html for each run (curves, evaluation, sample
// completions); with --markdown, demo results as Markdown tables instead.
#include <iostream>

#include "command.h"
#include "empo/log/html_report.h"
#include "empo/log/report.h"

namespace {

void add_report(CLI::App& app) {
  auto run_dirs = std::make_shared<std::vector<std::string>>();
  auto markdown = std::make_shared<bool>(false);
  auto curves = std::make_shared<bool>(false);
  auto* command = app.add_subcommand(
      "report", "Write RUN_DIR/report.html (curves, evaluation, completions by cluster)");
  command->add_option("runs", *run_dirs, "run folders (finished or still running)")->required();
  command->add_flag("--markdown", *markdown,
                    "print demo runs (results.json, curve.jsonl) as Markdown tables instead");
  command->add_flag("--curves", *curves, "with --markdown: also each run's accuracy curve");
  command->callback([run_dirs, markdown, curves] {
    if (!*markdown) {
      for (const auto& dir : *run_dirs) std::cout << empo::log::write_html_report(dir) << "\n";
      return;
    }
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
