// `empo generate`: batched sampling with the rollout engine.
#include <algorithm>
#include <filesystem>
#include <iostream>

#include "command.h"
#include "empo/generate/engine.h"
#include "empo/generate/policy.h"
#include "empo/io/error.h"
#include "empo/io/jsonl.h"
#include "empo/log/progress.h"
#include "empo/model/lora.h"
#include "empo/model/runtime.h"
#include "empo/rl/config.h"

namespace {

struct GenerateOptions {
  std::string model, adapter, input, output, device = "auto", dtype = "auto",
                                             attn_implementation = "auto";
  int64_t n = 1, max_new_tokens = 256, top_k = 0, batch_size = 8;
  double temperature = 1.0, top_p = 1.0, min_p = 0.0;
  bool greedy = false;
  bool cuda_graphs = false;
  double memory_fraction = empo::rl::TrainConfig{}.rollout_memory_fraction;
  uint64_t seed = 0;
  std::string system_prompt;
  std::string chat_template;         // name or Jinja file; "": the model's
  std::string chat_template_kwargs;  // a JSON object of extra template variables
  std::vector<std::string> stop;
};

std::vector<int64_t> read_prompt(const empo::io::Json& line, const std::string& path, long number,
                                 const empo::model::Model& model,
                                 const empo::generate::Policy* policy,
                                 const empo::generate::PromptSettings& settings) {
  using empo::throw_input_error;
  if (!line.is_object()) throw_input_error(path, number, "expected a JSON object");
  if (line.contains("prompt_ids")) {
    std::vector<int64_t> ids;
    const auto& values = line["prompt_ids"];
    if (!values.is_array() || values.empty())
      throw_input_error(path, number, "\"prompt_ids\" must be a non-empty array");
    for (const auto& value : values) {
      if (!value.is_number_integer() || value.get<int64_t>() < 0 ||
          value.get<int64_t>() >= model.config.vocab_size)
        throw_input_error(path, number, "token id " + value.dump() + " outside the vocabulary");
      ids.push_back(value.get<int64_t>());
    }
    return ids;
  }
  if (!policy)
    throw_input_error(path, number,
                      "\"prompt\"/\"messages\" need a tokenizer.json in the model folder");
  if (line.contains("prompt")) {
    if (!line["prompt"].is_string()) throw_input_error(path, number, "\"prompt\" must be a string");
    auto ids = policy->tokenizer.encode(line["prompt"].get<std::string>());
    return std::vector<int64_t>(ids.begin(), ids.end());
  }
  if (line.contains("messages")) {
    const auto& messages = line["messages"];
    if (!messages.is_array()) throw_input_error(path, number, "\"messages\" must be an array");
    // Every key of a message reaches the chat template (reasoning_content, tool_calls, ...).
    for (const auto& message : messages)
      if (!message.is_object() || !message.contains("role") || !message["role"].is_string() ||
          !message.contains("content") ||
          !(message["content"].is_string() || message["content"].is_array()))
        throw_input_error(
            path, number,
            "each message needs a string \"role\" and a string (or list) \"content\"");
    empo::io::Json with_system = messages;
    if (!settings.system_prompt.empty() &&
        (messages.empty() || messages[0].value("role", "") != "system"))
      with_system.insert(with_system.begin(),
                         empo::io::Json{{"role", "system"}, {"content", settings.system_prompt}});
    try {
      return empo::generate::build_prompt(*policy, settings, with_system);
    } catch (const empo::InputError& error) {
      throw_input_error(path, number, error.what());
    }
  }
  throw_input_error(path, number, "expected \"prompt_ids\", \"prompt\" or \"messages\"");
}

void run_generate(const GenerateOptions& options) {
  using namespace empo;
  model::init_runtime();
  auto device = model::parse_device(options.device);
  model::LoadOptions load{
      model::compute_dtype(options.dtype, device), device,
      model::parse_attn_implementation(options.attn_implementation, "--attn-implementation")};
  std::optional<generate::Policy> policy;
  model::Model plain;
  const bool has_tokenizer = std::filesystem::exists(options.model + "/tokenizer.json");
  if (has_tokenizer)
    policy = generate::load_policy(options.model, load, options.chat_template);
  else if (!options.chat_template.empty())
    throw InputError("--chat-template needs a tokenizer.json in the model folder");
  else
    plain = model::load_model(options.model, load);
  if (!options.adapter.empty()) {
    auto& loaded = policy ? policy->model : plain;
    loaded.lora = model::load_lora_adapter(options.adapter, loaded, load);
  }
  const model::Model& weights = policy ? policy->model : plain;
  generate::PromptSettings settings;
  settings.system_prompt = options.system_prompt;
  if (!options.chat_template_kwargs.empty())
    settings.chat_template_kwargs = generate::parse_chat_template_kwargs(
        options.chat_template_kwargs, "--chat-template-kwargs");
  std::vector<std::vector<int64_t>> prompts;
  io::for_each_jsonl(options.input, [&](const io::Json& line, long number) {
    prompts.push_back(
        read_prompt(line, options.input, number, weights, policy ? &*policy : nullptr, settings));
  });
  generate::GenerationConfig config;
  config.max_new_tokens = options.max_new_tokens;
  config.num_samples = options.n;
  config.prompts_per_batch = options.batch_size;
  config.kv_budget_bytes =
      generate::kv_budget_bytes(weights.weights.embed_tokens.device(), options.memory_fraction);
  config.cuda_graphs = options.cuda_graphs;
  config.seed = options.seed;
  config.sampling = {options.greedy, options.temperature, options.top_k, options.top_p,
                     options.min_p};
  config.eos_token_ids = weights.config.eos_token_ids;
  config.stop_strings = options.stop;
  if (!options.stop.empty() && !policy)
    throw InputError("--stop needs a tokenizer.json in the model folder");
  log::ProgressMeter progress("prompt", static_cast<long>(prompts.size()));
  config.on_batch_done = [&progress](size_t done) { progress.update(static_cast<long>(done)); };
  generate::Completions completions;
  if (policy) {
    completions = generate::complete(*policy, prompts, config);
  } else {
    completions.samples =
        generate::generate(weights, prompts, config, nullptr, {}, &completions.stats);
  }
  progress.finish();
  io::JsonlWriter writer(options.output);
  for (size_t i = 0; i < completions.samples.size(); ++i) {
    const auto& sample = completions.samples[i];
    io::Json line{{"index", sample.prompt_index},
                  {"sample", sample.sample_index},
                  {"prompt_ids", prompts[static_cast<size_t>(sample.prompt_index)]},
                  {"completion_ids", sample.tokens}};
    if (policy) line["completion"] = completions.texts[i];
    line["logprobs"] = sample.sampling_logprobs;
    line["policy_logprobs"] = sample.policy_logprobs;
    line["finish_reason"] = generate::finish_reason_name(sample.finish);
    writer.write(line);
  }
  writer.commit();
  const auto& stats = completions.stats;
  std::cerr << "prompts " << prompts.size() << ", samples " << completions.samples.size()
            << ", KV cache " << stats.kv_cache_bytes / 1048576.0 << " MiB, prefill "
            << stats.prompt_tokens / std::max(stats.prefill_seconds, 1e-9) << " tok/s, decode "
            << stats.generated_tokens / std::max(stats.decode_seconds, 1e-9) << " tok/s\n";
}

void add_generate(CLI::App& app) {
  auto options = std::make_shared<GenerateOptions>();
  auto* command = app.add_subcommand("generate", "Sample completions with the KV-cache engine");
  command->add_option("--model", options->model, "Hugging Face model folder")->required();
  command->add_option("--input", options->input, "JSONL of prompt_ids / prompt / messages")
      ->required();
  command->add_option("--adapter", options->adapter,
                      "a LoRA adapter folder (PEFT format) applied on top of --model, unmerged");
  command->add_option("--output", options->output, "output JSONL, one line per sample")->required();
  command->add_option("--n", options->n, "samples per prompt")->check(CLI::PositiveNumber);
  command->add_option("--max-new-tokens", options->max_new_tokens)->check(CLI::PositiveNumber);
  command->add_flag("--greedy", options->greedy, "greedy decoding");
  command->add_flag("--cuda-graphs", options->cuda_graphs,
                    "replay each decode step as a CUDA graph (not yet checked on a GPU)");
  command->add_option("--temperature", options->temperature)->check(CLI::NonNegativeNumber);
  command->add_option("--top-p", options->top_p)->check(CLI::Range(0.0, 1.0));
  command->add_option("--top-k", options->top_k)->check(CLI::NonNegativeNumber);
  command->add_option("--min-p", options->min_p)->check(CLI::Range(0.0, 1.0));
  command->add_option("--seed", options->seed);
  command->add_option("--batch-size", options->batch_size, "prompts prefilled together")
      ->check(CLI::PositiveNumber);
  command
      ->add_option("--memory-fraction", options->memory_fraction,
                   "share of the free device memory the KV cache may fill (as the trainer's "
                   "rollout_memory_fraction)")
      ->check(CLI::Range(0.0, 1.0));
  command->add_option("--system-prompt", options->system_prompt, "for \"messages\" input");
  command->add_option("--chat-template", options->chat_template,
                      "for \"messages\" input: a Jinja chat template file, or the name of one of "
                      "the model's templates");
  command->add_option(
      "--chat-template-kwargs", options->chat_template_kwargs,
      "extra template variables as a JSON object, e.g. '{\"enable_thinking\": false}'");
  command->add_option("--stop", options->stop, "stop string (repeatable); the completion keeps it");
  command->add_option("--device", options->device, "cpu | cuda[:N] | auto");
  command->add_option("--dtype", options->dtype, "float32 | bfloat16 | auto");
  command->add_option("--attn-implementation", options->attn_implementation,
                      "sdpa | eager | auto (sdpa where libtorch has fused kernels)");
  command->callback([options] { run_generate(*options); });
}

EMPO_COMMAND(add_generate);

}  // namespace
