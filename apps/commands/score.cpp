// `empo score`: per-token log-probs of given sequences under a model.
#include <filesystem>
#include <iostream>
#include <optional>

#include "command.h"
#include "empo/io/error.h"
#include "empo/io/jsonl.h"
#include "empo/model/logprobs.h"
#include "empo/model/lora.h"
#include "empo/model/runtime.h"
#include "empo/text/tokenizer.h"

namespace {

struct ScoreOptions {
  std::string model;
  std::string adapter;
  std::string input;
  std::string output;
  std::string device = "auto";
  std::string dtype = "auto";
  std::string attn_implementation = "auto";
  int batch_size = 8;
};

std::vector<int64_t> read_ids(const empo::io::Json& line, const std::string& path, long number,
                              const empo::model::ModelConfig& config,
                              const std::optional<empo::text::Tokenizer>& tokenizer) {
  std::vector<int64_t> ids;
  if (line.is_object() && line.contains("text")) {
    if (!tokenizer)
      empo::throw_input_error(path, number, "\"text\" needs a tokenizer.json in the model folder");
    if (!line["text"].is_string())
      empo::throw_input_error(path, number, "\"text\" must be a string");
    for (auto id : tokenizer->encode(line["text"].get<std::string>())) ids.push_back(id);
    if (ids.empty()) empo::throw_input_error(path, number, "\"text\" encodes to no tokens");
    return ids;
  }
  const auto& values = empo::io::require_field(line, "input_ids", path, number);
  if (!values.is_array() || values.empty())
    empo::throw_input_error(path, number, "\"input_ids\" must be a non-empty array of token ids");
  for (const auto& value : values) {
    if (!value.is_number_integer() || value.get<int64_t>() < 0 ||
        value.get<int64_t>() >= config.vocab_size)
      empo::throw_input_error(
          path, number,
          "token id " + value.dump() + " outside [0, " + std::to_string(config.vocab_size) + ")");
    ids.push_back(value.get<int64_t>());
  }
  return ids;
}

void run_score(const ScoreOptions& options) {
  using namespace empo;
  model::init_runtime();
  auto device = model::parse_device(options.device);
  model::LoadOptions load{
      model::compute_dtype(options.dtype, device), device,
      model::parse_attn_implementation(options.attn_implementation, "--attn-implementation")};
  auto loaded = model::load_model(options.model, load);
  if (!options.adapter.empty())
    loaded.lora = model::load_lora_adapter(options.adapter, loaded, load);
  std::optional<text::Tokenizer> tokenizer;
  if (std::filesystem::exists(options.model + "/tokenizer.json"))
    tokenizer = text::Tokenizer::load(options.model);
  std::vector<std::vector<int64_t>> sequences;
  io::for_each_jsonl(options.input, [&](const io::Json& line, long number) {
    sequences.push_back(read_ids(line, options.input, number, loaded.config, tokenizer));
  });
  auto scores = model::sequence_logprobs(loaded, sequences, options.batch_size);
  io::JsonlWriter writer(options.output);
  for (const auto& logprobs : scores) writer.write(io::Json{{"logprobs", logprobs}});
  writer.commit();
}

void add_score(CLI::App& app) {
  auto options = std::make_shared<ScoreOptions>();
  auto* command = app.add_subcommand(
      "score", "Per-token log p(x_t | x_<t), t = 1..T-1, for {\"input_ids\"} or {\"text\"} lines");
  command->add_option("--model", options->model, "Hugging Face model folder")->required();
  command->add_option("--input", options->input, "input JSONL")->required();
  command->add_option("--adapter", options->adapter,
                      "a LoRA adapter folder (PEFT format) applied on top of --model, unmerged");
  command->add_option("--output", options->output, "output JSONL")->required();
  command->add_option("--device", options->device, "cpu | cuda[:N] | auto");
  command->add_option("--dtype", options->dtype, "float32 | bfloat16 | auto");
  command->add_option("--attn-implementation", options->attn_implementation,
                      "sdpa | eager | auto (sdpa where libtorch has fused kernels)");
  command->add_option("--batch-size", options->batch_size, "sequences per forward pass")
      ->check(CLI::PositiveNumber);
  command->callback([options] { run_score(*options); });
}

EMPO_COMMAND(add_score);

}  // namespace
