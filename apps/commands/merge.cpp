// `empo merge`: folds a PEFT LoRA adapter into its base model, writing a plain Hugging Face
// folder that any tool (and `empo generate --model`) loads without adapter support.
#include <iostream>
#include <memory>
#include <string>

#include "command.h"
#include "empo/model/lora.h"
#include "empo/model/runtime.h"

namespace {

struct MergeOptions {
  std::string base;
  std::string adapter;
  std::string output;
};

void add_merge(CLI::App& app) {
  auto options = std::make_shared<MergeOptions>();
  auto* command = app.add_subcommand(
      "merge", "Merge a LoRA adapter (PEFT folder) into its base: W + lora_alpha/r * B A");
  command->add_option("--base", options->base, "the base model folder (Hugging Face)")->required();
  command->add_option("--adapter", options->adapter, "the adapter folder (a LoRA checkpoint)")
      ->required();
  command->add_option("--output", options->output, "the merged model folder to write")->required();
  command->callback([options] {
    empo::model::init_runtime();
    empo::model::merge_adapter_folder(options->base, options->adapter, options->output);
    std::cout << "wrote " << options->output << "\n";
  });
}

EMPO_COMMAND(add_merge);

}  // namespace
