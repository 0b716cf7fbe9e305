// `empo sft`: supervised fine-tuning, on the embedded addition task (fresh train-split
// questions every step, then the held-out evaluation the demo needs) or on a prompt/completion
// JSONL file. Writes the trained model and the input model's tokenizer files to --output.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "command.h"
#include "empo/io/error.h"
#include "empo/model/runtime.h"
#include "empo/rl/sft.h"
#include "empo/text/chat_template.h"
#include "empo/text/tokenizer.h"

namespace {

struct SftOptions {
  std::string model;
  std::string output;
  std::string task;
  std::string data;
  std::string lr_scheduler = "constant_with_warmup";
  std::string device = "cpu";
  std::string attn_implementation = "auto";
  bool gradient_checkpointing = false;
  empo::rl::SftSettings settings;
  double direct_fraction = 0.0;
  empo::rl::AdditionEvalSettings evaluation;
  int threads = 0;
};

empo::rl::LrSchedulerType parse_scheduler(const std::string& name) {
  using empo::rl::LrSchedulerType;
  for (auto type : {LrSchedulerType::constant, LrSchedulerType::constant_with_warmup,
                    LrSchedulerType::linear, LrSchedulerType::cosine})
    if (name == empo::rl::to_string(type)) return type;
  throw empo::InputError("--lr-scheduler \"" + name +
                         "\": expected constant, constant_with_warmup, linear or cosine");
}

int64_t pad_id_of(const empo::model::ModelConfig& config) {
  auto found = config.raw.find("pad_token_id");
  return found != config.raw.end() && found->is_number_integer() ? found->get<int64_t>() : 0;
}

// One line per window; throughput over the window (window_seconds since the last line).
void print_log(const empo::rl::SftLog& log, long total_steps, double window_seconds) {
  std::printf("step %5ld/%ld  loss %.4f  lr %.2e  grad-norm %.3f  %.0f tokens/s  %.1f s\n",
              log.step, total_steps, log.loss, log.lr, log.grad_norm,
              window_seconds > 0 ? static_cast<double>(log.tokens) / window_seconds : 0.0,
              log.seconds);
  std::fflush(stdout);
}

void run_sft(SftOptions options) {
  using namespace empo;
  if (options.task.empty() == options.data.empty())
    throw InputError("give exactly one of --task addition and --data FILE.jsonl");
  if (!options.task.empty() && options.task != "addition")
    throw InputError("--task \"" + options.task + "\": the only built-in task is \"addition\"");
  options.settings.lr_scheduler = parse_scheduler(options.lr_scheduler);
  rl::validate(options.settings);
  model::init_runtime(options.threads);
  auto device = model::parse_device(options.device);

  auto loaded = model::load_model(
      options.model,
      {at::kFloat, device,
       model::parse_attn_implementation(options.attn_implementation, "--attn-implementation")});
  loaded.gradient_checkpointing = options.gradient_checkpointing;
  auto tokenizer = text::Tokenizer::load(options.model);
  if (static_cast<int64_t>(tokenizer.vocab_size()) > loaded.config.vocab_size)
    throw InputError(options.model + ": the tokenizer has " +
                     std::to_string(tokenizer.vocab_size()) + " tokens, the model only " +
                     std::to_string(loaded.config.vocab_size));

  rl::BatchSource source;
  std::vector<int64_t> addition_eos;
  if (!options.task.empty()) {
    auto dollar = tokenizer.token_to_id("$");
    if (!dollar)
      throw InputError(options.model + ": the addition task needs a \"$\" token (its EOS)");
    addition_eos = {*dollar};
    rl::AdditionSftData data;
    data.direct_fraction = options.direct_fraction;
    rl::validate(data);
    source =
        rl::addition_batches(data, tokenizer, options.settings.seed, options.settings.batch_size);
  } else {
    auto chat = text::load_chat_template(options.model, tokenizer);
    std::vector<int64_t> eos_ids(chat.eos_ids.begin(), chat.eos_ids.end());
    auto examples =
        rl::read_sft_jsonl(options.data, tokenizer, eos_ids, loaded.config.max_position_embeddings);
    std::cout << "read " << examples.size() << " examples from " << options.data << "\n";
    source = rl::dataset_batches(std::move(examples), options.settings.seed,
                                 options.settings.batch_size);
  }

  const long total = options.settings.steps;
  double last_seconds = 0.0;
  rl::run_sft(loaded, options.settings, source, pad_id_of(loaded.config),
              [total, &last_seconds](const rl::SftLog& log) {
                print_log(log, total, log.seconds - last_seconds);
                last_seconds = log.seconds;
              });
  rl::save_model_folder(loaded, options.model, options.output);
  std::cout << "saved " << options.output << "\n";

  if (!options.task.empty() && options.evaluation.questions > 0) {
    auto evaluation = rl::evaluate_addition(loaded, tokenizer, addition_eos, options.evaluation);
    std::cout << "held-out: " << rl::format_addition_evaluation(evaluation) << "\n";
  }
}

void add_sft(CLI::App& app) {
  auto options = std::make_shared<SftOptions>();
  auto& settings = options->settings;
  auto* command = app.add_subcommand(
      "sft", "Supervised fine-tuning: the addition task's warm start, or prompt/completion JSONL");
  command->add_option("--model", options->model, "input model folder (HF format)")->required();
  command->add_option("--output", options->output, "output model folder (written whole)")
      ->required();
  command->add_option("--task", options->task, "built-in task: addition");
  command->add_option("--data", options->data, "JSONL of {\"prompt\", \"completion\"} lines");
  command->add_option("--steps", settings.steps, "optimizer steps")->capture_default_str();
  command->add_option("--batch-size", settings.batch_size, "examples per step")
      ->capture_default_str();
  command->add_option("--lr", settings.learning_rate, "peak learning rate")->capture_default_str();
  command->add_option("--warmup-steps", settings.warmup_steps, "linear warmup steps")
      ->capture_default_str();
  command
      ->add_option("--lr-scheduler", options->lr_scheduler,
                   "constant | constant_with_warmup | linear | cosine")
      ->capture_default_str();
  command->add_option("--weight-decay", settings.weight_decay, "AdamW weight decay")
      ->capture_default_str();
  command->add_option("--adam-beta1", settings.adam_beta1)->capture_default_str();
  command->add_option("--adam-beta2", settings.adam_beta2)->capture_default_str();
  command->add_option("--max-grad-norm", settings.max_grad_norm, "gradient clipping (0: off)")
      ->capture_default_str();
  command->add_option("--seed", settings.seed, "data order / questions seed")
      ->capture_default_str();
  command->add_option("--log-every", settings.log_every, "steps per log line")
      ->capture_default_str();
  command
      ->add_option("--direct-fraction", options->direct_fraction,
                   "addition: share of targets that are the direct answer only (#147$)")
      ->capture_default_str();
  command
      ->add_option("--eval-questions", options->evaluation.questions,
                   "addition: held-out test questions evaluated at the end (0: none)")
      ->capture_default_str();
  command
      ->add_option("--eval-samples", options->evaluation.samples,
                   "addition: samples per question at T=1 for sampled pass@1 and maj@G")
      ->capture_default_str();
  command
      ->add_option("--eval-seed", options->evaluation.seed,
                   "addition: test questions and sampling seed")
      ->capture_default_str();
  command->add_option("--device", options->device, "cpu | cuda[:N] | auto")->capture_default_str();
  command->add_option("--attn-implementation", options->attn_implementation,
                      "sdpa | eager | auto (sdpa where libtorch has fused kernels)");
  command->add_flag("--gradient-checkpointing", options->gradient_checkpointing,
                    "recompute each decoder layer in backward instead of keeping its activations");
  command
      ->add_option("--threads", options->threads,
                   "intra-op threads (0: $EMPO_THREADS, else every core)")
      ->capture_default_str();
  command->callback([options] { run_sft(*options); });
}

EMPO_COMMAND(add_sft);

}  // namespace
