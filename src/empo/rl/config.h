#pragma once
// The training configuration: one flat struct whose field names are the YAML keys. Names
// follow TRL's GRPOConfig where TRL has the knob (so a TRL user reads a config at a glance);
// EMPO's own knobs (reward, entropy band, equivalence, collapse guard) are added beside them.
// Defaults are the EMPO authors' TRL settings where ../shared/docs/EMPO.md gives one.
//
// This header and config.cpp are torch-free on purpose: the CLI, the demo and the tests read
// and validate configs without compiling torch.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "empo/data/prompt_source.h"
#include "empo/data/truthfulqa.h"
#include "empo/model/config.h"
#include "empo/model/lora_config.h"

namespace empo::rl {

enum class LrSchedulerType { constant, constant_with_warmup, linear, cosine };
// How per-token losses are aggregated (EMPO.md "Policy loss and its knobs").
enum class LossType { grpo, dapo, bnpo, dr_grpo, gspo };
// Rollout/trainer mismatch correction (rollout_correction.h): importance weights
// pi_old / pi_engine truncated at, or masked above, rollout_importance_cap, per token or per
// sequence.
enum class ImportanceCorrection {
  none,
  token_truncate,
  token_mask,
  sequence_truncate,
  sequence_mask
};
// Which standard deviation divides (reward - group mean): the group's, the batch's, or none.
enum class ScaleRewards { group, batch, none };
enum class RewardType { empo, ttrl, supervised, self_certainty, token_entropy };
enum class Equivalence { math, judge, exact };
// Final-answer extraction; the names are those of reward/answer.h (answer_format_from_name,
// answer_fallback_from_name), so the trainer converts by name.
// boxed: the last \boxed{} / \fbox{} content. hash_dollar: the digits after the last '#',
// terminated by '$' (the embedded demo task). full: the whole completion (free-form answers).
enum class AnswerExtraction { boxed, hash_dollar, full };
// Tried in order when boxed finds nothing: "the answer is X", "Answer: X", the last number.
enum class AnswerFallback { answer_is, answer_colon, last_number };
// chatml: Qwen's <|im_start|> format; raw: the templated question is the whole prompt;
// auto: chatml when the tokenizer has the ChatML special tokens, else raw.
enum class ChatFormat { chatml, raw, automatic };
// A prompt longer than max_prompt_length: an error naming the question, or cut from the left
// (the start of the question goes; the chat template's end and generation prompt stay).
enum class TruncatePrompts { error, left };
// auto: the dtype the checkpoint was saved in.
enum class Dtype { float32, bfloat16, automatic };
// How the LLM judge decides equivalence: one question (is b equivalent to the reference a?,
// the authors' use) or both directions (the classic semantic-entropy rule).
enum class JudgeDirection { one_way, bidirectional };

// Keep a question only if low <= H(q) / log G <= high (both ends inclusive).
struct EntropyBand {
  double low = 0.0;
  double high = 1.0;
};

struct TrainConfig {
  // --- model and data
  std::string model_name_or_path;       // required: a Hugging Face format folder
  std::string train_file;               // required: JSONL questions (see data/prompt_source.h)
  std::vector<std::string> eval_files;  // optional benchmarks evaluated by the trainer
  std::string output_dir = "runs/empo";
  // A fresh run refuses an output_dir that already holds checkpoints unless this is set
  // (then the old checkpoints and metrics are replaced); --resume continues one instead.
  bool overwrite_output_dir = false;
  std::string device = "auto";  // cpu | cuda | cuda:N | auto (CUDA when available)
  Dtype dtype = Dtype::automatic;
  // transformers' names: sdpa | eager | auto (sdpa where libtorch has fused kernels, i.e. 2.x).
  model::AttnImplementation attn_implementation = model::AttnImplementation::automatic;
  // Recompute each decoder layer in backward instead of keeping its activations (TRL's name).
  bool gradient_checkpointing = false;
  // DeepSpeed's ZeRO stage over the data-parallel ranks: 0 replicated, 1 master weights and
  // AdamW moments sharded, 2 also gradients (rl/zero_optimizer.h).
  int zero_stage = 0;

  // --- LoRA (PEFT's LoraConfig names). lora_r > 0 trains adapters on the frozen model instead
  // of every weight; checkpoints are then PEFT adapter folders (model/lora.h).
  int lora_r = 0;             // rank; 0: full fine-tuning
  double lora_alpha = 8.0;    // the adapter's output is scaled by lora_alpha / lora_r
  double lora_dropout = 0.0;  // on the adapter's input, training passes only
  // Short module names or all-linear (every decoder Linear); PEFT's default for Qwen2/Llama.
  std::vector<std::string> lora_target_modules = {"q_proj", "v_proj"};

  // --- prompt
  std::string system_prompt = data::kAuthorsSystemPrompt;
  std::string question_template = data::kAuthorsQuestionTemplate;  // must contain {question}
  ChatFormat chat_format = ChatFormat::automatic;
  // The chat template (transformers' apply_chat_template(chat_template=...)): "" is the model's,
  // a name picks an entry of tokenizer_config.json's template list, else a Jinja file.
  std::string chat_template;
  // Extra template variables (TRL's chat_template_kwargs), e.g. {enable_thinking: false}.
  nlohmann::json chat_template_kwargs = nlohmann::json::object();
  long max_prompt_length = 512;  // tokens; longer prompts: see truncate_prompts
  TruncatePrompts truncate_prompts = TruncatePrompts::error;  // left: cut, counted in metrics
  // A malformed train_file line stops training with file:line; true skips it (counted).
  bool skip_bad_lines = false;
  // A TruthfulQA CSV train_file: held_out trains on its even-position half (`empo eval --config`
  // evaluates the other half), test_time on every question (data/truthfulqa.h).
  data::TruthfulQaSplit truthfulqa_split = data::TruthfulQaSplit::test_time;

  // --- schedule
  long max_steps = -1;            // optimizer steps; -1: derived from num_train_epochs
  double num_train_epochs = 1.0;  // passes over train_file (used when max_steps == -1)
  // Questions per rollout batch on this process; each gets num_generations samples.
  // NOTE: TRL counts completions here; we count questions, so that the batch reads the same
  // for every G (the demo's 32 means 32 questions x 8 samples).
  int per_device_train_batch_size = 16;
  // Rollout batches whose gradients are summed into one optimizer step.
  int gradient_accumulation_steps = 1;
  // Completions per forward/backward pass (0: the whole batch at once). Memory only: the loss
  // and the gradient are the same for every value.
  int micro_batch_size = 0;
  // Optimizer steps that consume one rollout batch (TRL's name; verl's mini-batches): the
  // batch is generated for per_device_train_batch_size * gradient_accumulation_steps *
  // steps_per_generation questions and split into that many optimizer steps.
  int steps_per_generation = 1;
  // Passes over each rollout batch (1: strictly on-policy, the ratio is exactly 1).
  int num_iterations = 1;
  std::uint64_t seed = 42;

  // --- generation (rollouts)
  int num_generations = 7;  // G: samples per question
  double temperature = 0.9;
  double top_p = 1.0;
  int top_k = 0;       // 0: disabled
  double min_p = 0.0;  // 0: disabled
  long max_completion_length = 2048;
  // Share of the device memory left free by the weights and optimizer state that the rollout
  // engine may fill with keys/values (TRL's vllm_gpu_memory_utilization, verl's
  // gpu_memory_utilization): a rollout batch whose cache would not fit is generated in parts.
  double rollout_memory_fraction = 0.5;
  // Replay each decode step as a CUDA graph per batch-size bucket (vLLM's default, its
  // enforce_eager: false). Off until bench/gpu/run.sh has checked it on a GPU.
  bool rollout_cuda_graphs = false;

  // --- optimizer (AdamW) and learning-rate schedule
  double learning_rate = 1e-6;
  LrSchedulerType lr_scheduler_type = LrSchedulerType::constant;
  double warmup_ratio = 0.0;  // fraction of max_steps
  long warmup_steps = 0;      // when > 0, overrides warmup_ratio (as in TRL)
  double weight_decay = 0.0;
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_epsilon = 1e-8;
  double max_grad_norm = 1.0;  // 0: no clipping
  // A step whose loss or gradient norm is NaN/Inf is skipped (metric skipped_steps); this many
  // in a row stop the run with exit code 1, its last checkpoint intact.
  int max_nonfinite_steps = 3;

  // --- policy loss
  LossType loss_type = LossType::grpo;
  double beta = 0.0;          // KL coefficient; a reference model is loaded only when > 0
  double epsilon = 0.2;       // lower clip: rho >= 1 - epsilon
  double epsilon_high = 0.2;  // upper clip: rho <= 1 + epsilon_high; unset in YAML = epsilon
  ScaleRewards scale_rewards = ScaleRewards::group;
  bool mask_truncated_completions = false;
  // The engine samples with its own kernels (fused CPU ops, CUDA graphs, another batch shape's
  // rounding), so its token probabilities differ slightly from the trainer's: each token's
  // loss is weighted by pi_old / pi_engine (TRL's vLLM importance sampling correction).
  ImportanceCorrection rollout_importance_correction = ImportanceCorrection::token_truncate;
  double rollout_importance_cap = 3.0;  // truncate: weights above it become it; mask: 0

  // --- reward
  RewardType reward = RewardType::empo;
  EntropyBand entropy_band;
  double empty_answer_reward = 0.0;  // reward of a sample with no extractable answer
  Equivalence equivalence = Equivalence::math;
  std::string judge_model;  // required when equivalence == judge
  // The judge's prompt: general_verifier | entailment (built in) or a template FILE with
  // {question}, {a} and {b} (see reward/judge.h).
  std::string judge_prompt = "entailment";
  JudgeDirection judge_direction = JudgeDirection::bidirectional;
  // Free-form answers that copy the question (the authors' rule): with copy_question_rouge > 0,
  // an answer whose words are a contiguous run of the question's, or whose ROUGE-L precision
  // against the question exceeds copy_question_rouge, earns copy_question_reward instead of
  // its cluster's share. 0: off.
  double copy_question_rouge = 0.0;
  double copy_question_reward = 0.0;
  // When the largest cluster holds fewer than this share of a question's samples, every
  // sample of the question earns 0 (no majority worth reinforcing). 0: off.
  double min_majority_share = 0.0;
  AnswerExtraction answer_extraction = AnswerExtraction::boxed;
  std::vector<AnswerFallback> answer_fallbacks;  // only with answer_extraction boxed
  // Replace questions whose group has zero reward std (they teach nothing) by newly sampled
  // ones, for at most max_resample_rounds rounds per step.
  bool dynamic_sampling = false;
  int max_resample_rounds = 3;

  // --- collapse guard (needs no labels; a decaying lr is lr_scheduler_type, KL is beta)
  // Stop training when, for guard_patience consecutive steps, the mean normalised semantic
  // entropy is below guard_entropy_floor while the mean reward is above guard_reward_ceiling.
  bool guard_stop_rule = false;
  double guard_entropy_floor = 0.05;
  double guard_reward_ceiling = 0.95;
  int guard_patience = 5;
  // Trust-region stop: end training once the mean per-token KL (k3) to the starting policy
  // exceeds this budget (0: off). Loads the reference model even when beta == 0.
  double guard_max_kl = 0.0;

  // --- checkpoints and logging
  long save_steps = 50;      // 0: save only at the end
  int save_total_limit = 5;  // 0: keep every checkpoint
  long logging_steps = 1;
  // RUN_DIR/completions.jsonl at every logging step: the completions, answers, clusters,
  // rewards and advantages of the first num_completions_to_print questions (0: all of them).
  bool log_completions = true;
  int num_completions_to_print = 4;
};

// Reads a YAML file and applies "key=value" overrides in order (a later one wins). Values
// of overrides are YAML scalars or flow sequences (entropy_band=[0.1,0.9]); values of string
// keys are taken verbatim. Every key is validated: an unknown key, a wrong type or an
// out-of-range value throws empo::InputError naming the key, with "file:line" when the value
// came from the file. epsilon_high, when not given, takes epsilon's value.
TrainConfig load_config(const std::string& yaml_path,
                        const std::vector<std::string>& overrides = {});

// The same from YAML text; `origin` names it in errors (e.g. "embedded demo config").
TrainConfig parse_config(const std::string& yaml_text, const std::string& origin,
                         const std::vector<std::string>& overrides = {});

// Cross-key checks (required keys, judge_model with equivalence judge, warmup with a
// constant schedule, ...) for a config built in code; load_config already runs them.
void validate(const TrainConfig& config);

// The adapters lora_r, lora_alpha, lora_dropout and lora_target_modules ask for (r 0: none).
model::LoraSettings lora_settings(const TrainConfig& config);

// The resolved config as YAML, every key written; parse_config(to_yaml(c)) == c.
std::string to_yaml(const TrainConfig& config);

// Every key, in the order to_yaml writes them.
const std::vector<std::string>& config_keys();

const char* to_string(LrSchedulerType value);
const char* to_string(LossType value);
const char* to_string(ImportanceCorrection value);
const char* to_string(ScaleRewards value);
const char* to_string(RewardType value);
const char* to_string(Equivalence value);
const char* to_string(AnswerExtraction value);
const char* to_string(AnswerFallback value);
const char* to_string(ChatFormat value);
const char* to_string(Dtype value);
const char* to_string(TruncatePrompts value);
const char* to_string(JudgeDirection value);
const char* to_string(data::TruthfulQaSplit value);

bool operator==(const EntropyBand& a, const EntropyBand& b);
bool operator==(const TrainConfig& a, const TrainConfig& b);
inline bool operator!=(const TrainConfig& a, const TrainConfig& b) {
  return !(a == b);
}

}  // namespace empo::rl
