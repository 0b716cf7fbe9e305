// `empo grade`: are two answers the same math?
//   {"a": "...", "b": "..."} per line -> {"equivalent": true|false}
// A line without the fields, or with a value of the wrong type, stops the run with exit code 2
// and "file:line: reason"; the output file is then left untouched.
#include <memory>
#include <string>

#include "command.h"
#include "empo/io/error.h"
#include "empo/io/jsonl.h"
#include "empo/reward/equivalence.h"
#include "options.h"

namespace {

using empo::io::Json;

struct Options {
  std::string input;
  std::string output;
  empo::reward::EquivalenceConfig equivalence;
};

const std::string& string_field(const Json& line, const char* key, const std::string& path,
                                long number) {
  const Json& value = empo::io::require_field(line, key, path, number);
  if (!value.is_string()) {
    empo::throw_input_error(path, number, std::string("field \"") + key + "\" must be a string");
  }
  return value.get_ref<const std::string&>();
}

void grade(const Options& options) {
  empo::io::JsonlWriter writer(options.output);
  empo::io::for_each_jsonl(options.input, [&](const Json& line, long number) {
    const std::string& a = string_field(line, "a", options.input, number);
    const std::string& b = string_field(line, "b", options.input, number);
    writer.write(Json{{"equivalent", empo::reward::equivalent(a, b, options.equivalence)}});
  });
  writer.commit();
}

void add_grade(CLI::App& app) {
  auto options = std::make_shared<Options>();
  auto* command = app.add_subcommand(
      "grade", "Decide math equivalence of {\"a\", \"b\"} answer pairs -> {\"equivalent\"}");
  command->add_option("--input", options->input, "Input JSONL file")->required();
  command->add_option("--output", options->output, "Output JSONL file (written atomically)")
      ->required();
  empo::cli::add_equivalence_options(command, options->equivalence);
  command->callback([options] { grade(*options); });
}

EMPO_COMMAND(add_grade);

}  // namespace
