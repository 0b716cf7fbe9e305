#pragma once
// Supervised fine-tuning: the warm start of the embedded demo's model (DEMO-NOTES "Warm
// start") and plain prompt/completion SFT.
//
//   loss = mean over every completion token of the batch of -log p(token | everything before)
//
// Prompt tokens condition but are not scored. Each step draws its batch from a source that is
// a function of (seed, step) only, so a run is reproducible bit for bit on one machine with a
// fixed thread count. The addition source draws fresh train-split questions every step (test
// questions are never trained on); evaluate_addition measures what the demo needs, held-out
// greedy pass@1 against maj@G.
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "empo/data/synthetic.h"
#include "empo/model/weights.h"
#include "empo/rl/config.h"
#include "empo/text/tokenizer.h"
#include "empo/text/tokenizer_writer.h"

namespace empo::rl {

// ---------------------------------------------------------------------------------------------
// A small Qwen2 model with a character tokenizer (`empo init-model`).

struct SmallModelSpec {
  int64_t hidden_size = 128;
  int64_t num_hidden_layers = 2;
  int64_t num_attention_heads = 4;
  int64_t num_key_value_heads = 4;
  int64_t intermediate_size = 512;
  int64_t max_position_embeddings = 128;
  double rope_theta = 10000.0;
};

// config.json of a Qwen2 model (tied embeddings, vocab_size = the vocabulary's, EOS and pad ids
// from it), parsed and validated; InputError for unusable sizes.
model::ModelConfig small_model_config(const SmallModelSpec& spec,
                                      const text::CharVocabulary& vocabulary);

// Writes a randomly initialised model (model::random_model with `seed`, float32) and its
// tokenizer files into `folder`.
void init_char_model(const std::string& folder, const SmallModelSpec& spec,
                     const text::CharVocabulary& vocabulary, uint64_t seed);

// ---------------------------------------------------------------------------------------------
// Examples and the loss.

struct SftExample {
  std::vector<int64_t> prompt;      // at least one token; conditions, not scored
  std::vector<int64_t> completion;  // at least one token; scored
};

struct SftLoss {
  at::Tensor loss;     // scalar: mean NLL per completion token, differentiable
  int64_t tokens = 0;  // completion tokens scored
};

// One right-padded forward pass over the batch; log-probs through model::token_logprobs
// (chunked). The pad id only fills padding, which is masked out.
SftLoss sft_loss(const model::Model& model, const std::vector<SftExample>& batch,
                 int64_t pad_id = 0);

// ---------------------------------------------------------------------------------------------
// Where a step's examples come from.

// The examples of optimizer step `step` (0-based); must depend on the step only (and on
// settings fixed before the run), so a run is a function of its seed.
using BatchSource = std::function<std::vector<SftExample>(long step)>;

// Encodes `text` and checks that the ids decode back to it (a character the tokenizer cannot
// represent would otherwise vanish silently); InputError naming `where` otherwise.
std::vector<int64_t> encode_exactly(const text::Tokenizer& tokenizer, const std::string& text,
                                    const std::string& where);

struct AdditionSftData {
  data::AdditionTask task;
  double direct_fraction = 0.0;  // share of targets that are the direct answer ("#147$")
};

// InputError for an unusable task or a direct_fraction outside [0, 1].
void validate(const AdditionSftData& data);

// `batch_size` fresh train-split questions for step `step` of a run seeded with `seed`: terms
// drawn as data::generate_addition_split draws them, test-split questions redrawn; each target
// is the direct answer with probability direct_fraction, else the step-by-step reasoning.
std::vector<data::AdditionProblem> addition_step_problems(const AdditionSftData& data,
                                                          uint64_t seed, long step, long batch_size,
                                                          std::vector<bool>* direct = nullptr);
BatchSource addition_batches(const AdditionSftData& data, const text::Tokenizer& tokenizer,
                             uint64_t seed, long batch_size);

// {"prompt": "...", "completion": "..."} lines (other fields ignored). The prompt is used as
// written (no chat template). The completion gets eos_id appended unless it already ends with
// one of eos_ids, so the model learns to stop. InputError naming file:line for a missing or
// non-string field, an empty prompt or completion, text the tokenizer does not reproduce, a
// sequence longer than max_tokens, or a file without examples.
std::vector<SftExample> read_sft_jsonl(const std::string& path, const text::Tokenizer& tokenizer,
                                       const std::vector<int64_t>& eos_ids, int64_t max_tokens);

// Epochs over a fixed list, each in its own seeded order (Fisher-Yates on data::uniform_below):
// step s takes positions [s * batch_size, (s + 1) * batch_size) of the concatenated epochs.
BatchSource dataset_batches(std::vector<SftExample> examples, uint64_t seed, long batch_size);

// ---------------------------------------------------------------------------------------------
// Training.

struct SftSettings {
  long steps = 1200;
  long batch_size = 64;
  double learning_rate = 2e-3;
  long warmup_steps = 50;
  LrSchedulerType lr_scheduler = LrSchedulerType::constant_with_warmup;
  double weight_decay = 0.01;
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double max_grad_norm = 1.0;  // 0: no clipping
  uint64_t seed = 0;
  long log_every = 50;  // steps averaged per log line
};

// InputError naming the setting (--flag spelling) when a value is unusable.
void validate(const SftSettings& settings);

struct SftLog {
  long step = 0;           // steps done (1-based: the last step of the window)
  long window = 0;         // steps averaged
  double loss = 0.0;       // mean of the window's step losses
  double lr = 0.0;         // learning rate of the last step
  double grad_norm = 0.0;  // mean pre-clipping gradient norm over the window
  int64_t tokens = 0;      // completion tokens scored in the window
  double seconds = 0.0;    // since training began
};

// Trains `model` in place (its parameters get requires_grad): per step the source's batch,
// sft_loss, backward, clip_grad_norm, AdamW at scheduled_lr. on_log gets one entry every
// log_every steps and one for the last, partial window. Returns every step's loss.
std::vector<double> run_sft(model::Model& model, const SftSettings& settings,
                            const BatchSource& source, int64_t pad_id,
                            const std::function<void(const SftLog&)>& on_log = nullptr);

// Writes a trained model and the tokenizer files of `tokenizer_folder` (tokenizer.json,
// tokenizer_config.json, generation_config.json, ... whichever exist) into `folder` as a
// whole: built in a sibling temporary folder and renamed into place, so an interrupted save
// leaves the previous folder, if any, untouched.
void save_model_folder(const model::Model& model, const std::string& tokenizer_folder,
                       const std::string& folder);

// ---------------------------------------------------------------------------------------------
// The demo's precondition, measured on held-out questions.

struct AdditionEvalSettings {
  data::AdditionTask task;
  std::size_t questions = 500;  // test-split questions (generate_addition_split, `seed`)
  int64_t samples = 8;          // G samples per question at `temperature`
  double temperature = 1.0;
  uint64_t seed = 0;  // the questions and the sampling streams
  int64_t max_new_tokens = 48;
  int64_t prompts_per_batch = 64;
};

struct AdditionEvaluation {
  std::size_t questions = 0;
  int64_t samples = 0;
  double greedy_pass1 = 0.0;   // greedy completion correct
  double sampled_pass1 = 0.0;  // mean share of correct samples
  double maj_at_g = 0.0;       // majority answer of the G samples correct (eval::score_benchmark)
  double greedy_direct = 0.0;  // share of greedy completions that answer without steps
  double sampled_direct = 0.0;
  double seconds = 0.0;
};

// Scores given completions: greedy[i] is question i's greedy completion, samples[i] its G
// samples. Answers are check_addition_completion's (no "#digits$": no answer, a singleton
// cluster); the majority follows eval::score_benchmark (ties to the earliest answer).
AdditionEvaluation score_addition(const std::vector<std::string>& questions,
                                  const std::vector<std::string>& greedy,
                                  const std::vector<std::vector<std::string>>& samples);

// Generates (generate::generate; greedy, then G samples at the temperature; stops at eos_ids)
// and scores.
AdditionEvaluation evaluate_addition(const model::Model& model, const text::Tokenizer& tokenizer,
                                     const std::vector<int64_t>& eos_ids,
                                     const AdditionEvalSettings& settings);

// "greedy pass@1 22.8%  sampled pass@1 28.0%  maj@8 60.8%  (500 test questions; ...)"
std::string format_addition_evaluation(const AdditionEvaluation& evaluation);

}  // namespace empo::rl
