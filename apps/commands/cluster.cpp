// `empo cluster`: semantic clusters of a question's answers and their entropy.
//   {"answers": ["...", ...]} per line
//     -> {"cluster_ids": [...], "cluster_sizes": [...], "entropy": H}
// Cluster ids count from 0 in order of first occurrence; H uses the natural log. A line
// without the field, or with a value of the wrong type, stops the run with exit code 2 and
// "file:line: reason"; the output file is then left untouched.
#include <memory>
#include <string>
#include <vector>

#include "command.h"
#include "empo/io/error.h"
#include "empo/io/jsonl.h"
#include "empo/reward/cluster.h"

namespace {

using empo::io::Json;

struct Options {
  std::string input;
  std::string output;
  empo::reward::EquivalenceConfig equivalence;
};

std::vector<std::string> answers_field(const Json& line, const std::string& path, long number) {
  const Json& list = empo::io::require_field(line, "answers", path, number);
  if (!list.is_array()) {
    empo::throw_input_error(path, number, "field \"answers\" must be a list of strings");
  }
  std::vector<std::string> answers;
  for (const Json& answer : list) {
    if (!answer.is_string()) {
      empo::throw_input_error(path, number, "\"answers\" holds a value that is not a string");
    }
    answers.push_back(answer.get<std::string>());
  }
  return answers;
}

void cluster(const Options& options) {
  empo::io::JsonlWriter writer(options.output);
  empo::io::for_each_jsonl(options.input, [&](const Json& line, long number) {
    empo::reward::Clustering clustering =
        empo::reward::cluster(answers_field(line, options.input, number), options.equivalence);
    writer.write(Json{{"cluster_ids", clustering.cluster_ids},
                      {"cluster_sizes", clustering.cluster_sizes},
                      {"entropy", clustering.entropy}});
  });
  writer.commit();
}

void add_cluster(CLI::App& app) {
  auto options = std::make_shared<Options>();
  auto* command = app.add_subcommand(
      "cluster", "Cluster {\"answers\": [...]} by math equivalence -> ids, sizes, entropy");
  command->add_option("--input", options->input, "Input JSONL file")->required();
  command->add_option("--output", options->output, "Output JSONL file (written atomically)")
      ->required();
  command
      ->add_option("--tolerance", options->equivalence.relative_tolerance,
                   "Relative tolerance of numeric agreement")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command
      ->add_option("--time-limit-ms", options->equivalence.time_limit_ms,
                   "Per-comparison time bound; past it the answers are not equivalent (0: none)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  command->callback([options] { cluster(*options); });
}

EMPO_COMMAND(add_cluster);

}  // namespace
