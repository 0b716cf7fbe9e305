// `empo tokenize` and `empo detokenize`: JSONL text <-> token ids with a model's tokenizer.
//   tokenize:   {"text": "..."} per line -> {"ids": [...]}
//   detokenize: {"ids": [...]} per line  -> {"text": "..."}
// A line without the field, or with a value of the wrong type, stops the run with exit code 2
// and "file:line: reason"; the output file is then left untouched.
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "command.h"
#include "empo/io/error.h"
#include "empo/io/jsonl.h"
#include "empo/text/tokenizer.h"

namespace {

using empo::io::Json;
using empo::text::TokenId;
using empo::text::Tokenizer;

struct Options {
  std::string tokenizer;
  std::string input;
  std::string output;
  bool add_special_tokens = false;
  bool skip_special_tokens = false;
};

void add_common_flags(CLI::App* command, Options& options) {
  command->add_option("--tokenizer", options.tokenizer, "Model folder or tokenizer.json file")
      ->required();
  command->add_option("--input", options.input, "Input JSONL file")->required();
  command->add_option("--output", options.output, "Output JSONL file (written atomically)")
      ->required();
}

void tokenize(const Options& options) {
  Tokenizer tokenizer = Tokenizer::load(options.tokenizer);
  empo::io::JsonlWriter writer(options.output);
  std::vector<TokenId> ids;
  empo::io::for_each_jsonl(options.input, [&](const Json& line, long number) {
    const Json& text = empo::io::require_field(line, "text", options.input, number);
    if (!text.is_string())
      empo::throw_input_error(options.input, number, "field \"text\" must be a string");
    ids.clear();
    tokenizer.encode_append(text.get_ref<const std::string&>(), ids, options.add_special_tokens);
    writer.write(Json{{"ids", ids}});
  });
  writer.commit();
}

void detokenize(const Options& options) {
  Tokenizer tokenizer = Tokenizer::load(options.tokenizer);
  empo::io::JsonlWriter writer(options.output);
  std::vector<TokenId> ids;
  empo::io::for_each_jsonl(options.input, [&](const Json& line, long number) {
    const Json& list = empo::io::require_field(line, "ids", options.input, number);
    if (!list.is_array())
      empo::throw_input_error(options.input, number, "field \"ids\" must be a list of ids");
    ids.clear();
    for (const Json& id : list) {
      if (!id.is_number_integer() || id.get<long long>() < std::numeric_limits<TokenId>::min() ||
          id.get<long long>() > std::numeric_limits<TokenId>::max())
        empo::throw_input_error(options.input, number, "\"ids\" holds a value that is not an id");
      ids.push_back(id.get<TokenId>());
    }
    writer.write(Json{{"text", tokenizer.decode(ids, options.skip_special_tokens)}});
  });
  writer.commit();
}

void add_tokenize(CLI::App& app) {
  auto options = std::make_shared<Options>();
  auto* command =
      app.add_subcommand("tokenize", "Encode {\"text\": ...} lines to {\"ids\": [...]} lines");
  add_common_flags(command, *options);
  command->add_flag("--add-special-tokens", options->add_special_tokens,
                    "Apply the tokenizer's post-processor template (e.g. a BOS token)");
  command->callback([options] { tokenize(*options); });
}

void add_detokenize(CLI::App& app) {
  auto options = std::make_shared<Options>();
  auto* command = app.add_subcommand(
      "detokenize",
      "Decode {\"ids\": [...]} lines to {\"text\": ...} lines; ids past the vocabulary decode "
      "to nothing, bytes that are not UTF-8 to U+FFFD");
  add_common_flags(command, *options);
  command->add_flag("--skip-special-tokens", options->skip_special_tokens,
                    "Leave special tokens such as <|im_end|> out of the text");
  command->callback([options] { detokenize(*options); });
}

EMPO_COMMAND(add_tokenize);
EMPO_COMMAND(add_detokenize);

}  // namespace
