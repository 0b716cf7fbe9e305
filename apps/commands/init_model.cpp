// `empo init-model`: a randomly initialised small Qwen2 model with a character tokenizer, the
// starting point of `empo sft` (scripts/make_demo_model.sh builds the demo model from it).
#include <iostream>
#include <memory>
#include <string>

#include "command.h"
#include "empo/io/error.h"
#include "empo/rl/sft.h"

namespace {

struct InitModelOptions {
  std::string output;
  empo::rl::SmallModelSpec spec;
  std::string vocab = empo::text::CharVocabulary{}.characters;
  std::string eos = "$";
  uint64_t seed = 0;
};

void run_init_model(const InitModelOptions& options) {
  using namespace empo;
  if (options.eos.size() != 1)
    throw InputError("--eos must be one character of --vocab, got \"" + options.eos + "\"");
  text::CharVocabulary vocabulary;
  vocabulary.characters = options.vocab;
  vocabulary.eos = options.eos[0];
  vocabulary.model_max_length = options.spec.max_position_embeddings;
  rl::init_char_model(options.output, options.spec, vocabulary, options.seed);
  auto config = rl::small_model_config(options.spec, vocabulary);
  std::cout << "wrote " << options.output << ": qwen2, " << config.num_hidden_layers
            << " layers, hidden " << config.hidden_size << ", vocabulary " << config.vocab_size
            << " (\"" << vocabulary.characters << "\" + pad), eos '" << vocabulary.eos << "', seed "
            << options.seed << "\n";
}

void add_init_model(CLI::App& app) {
  auto options = std::make_shared<InitModelOptions>();
  auto& spec = options->spec;
  auto* command = app.add_subcommand(
      "init-model", "Write a random small Qwen2 model with a character tokenizer (HF format)");
  command->add_option("--output", options->output, "model folder to write")->required();
  command->add_option("--hidden", spec.hidden_size, "hidden size")->capture_default_str();
  command->add_option("--layers", spec.num_hidden_layers, "decoder layers")->capture_default_str();
  command->add_option("--heads", spec.num_attention_heads, "attention heads")
      ->capture_default_str();
  command->add_option("--kv-heads", spec.num_key_value_heads, "key/value heads")
      ->capture_default_str();
  command->add_option("--intermediate", spec.intermediate_size, "MLP size")->capture_default_str();
  command
      ->add_option("--max-positions", spec.max_position_embeddings,
                   "max_position_embeddings (and the tokenizer's model_max_length)")
      ->capture_default_str();
  command->add_option("--vocab", options->vocab, "the characters, one token each, in id order")
      ->capture_default_str();
  command->add_option("--eos", options->eos, "the character that ends a completion")
      ->capture_default_str();
  command->add_option("--seed", options->seed, "initialisation seed")->capture_default_str();
  command->callback([options] { run_init_model(*options); });
}

EMPO_COMMAND(add_init_model);

}  // namespace
