#include "empo/rl/sft.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <numeric>

#include "empo/data/random.h"
#include "empo/eval/metrics.h"
#include "empo/generate/engine.h"
#include "empo/io/durable.h"
#include "empo/io/error.h"
#include "empo/io/jsonl.h"
#include "empo/io/model_files.h"
#include "empo/model/logprobs.h"
#include "empo/model/transformer.h"
#include "empo/rl/optimizer.h"

namespace empo::rl {

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

// Stream tags for data::seeded_engine, so that the SFT draws never coincide with
// generate_addition_split's ({seed, split}) or with each other's.
constexpr uint64_t kAdditionStream = 0x5f7'add;
constexpr uint64_t kDatasetStream = 0x5f7'da7a;

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void require_positive(int64_t value, const char* flag) {
  if (value <= 0)
    throw InputError(std::string(flag) + " must be positive, got " + std::to_string(value));
}

fs::path final_path(const fs::path& folder) {
  fs::path absolute = fs::absolute(folder).lexically_normal();
  return absolute.filename().empty() ? absolute.parent_path() : absolute;
}

// Removes the temporary folder unless the save got to publish it.
struct TemporaryFolder {
  fs::path path;
  bool published = false;
  ~TemporaryFolder() {
    std::error_code ignored;
    if (!published) fs::remove_all(path, ignored);
  }
};

// A uniform draw in [0, 1) with 53 bits, platform-independent (std distributions are not).
double uniform_unit(std::mt19937_64& engine) {
  return static_cast<double>(data::uniform_below(engine, uint64_t{1} << 53)) /
         static_cast<double>(uint64_t{1} << 53);
}

at::ScalarType file_dtype_of(const model::ModelConfig& config) {
  try {
    return model::parse_dtype_name(config.dtype);
  } catch (const InputError&) {
    return at::kFloat;
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------

model::ModelConfig small_model_config(const SmallModelSpec& spec,
                                      const text::CharVocabulary& vocabulary) {
  text::validate(vocabulary);
  require_positive(spec.hidden_size, "--hidden");
  require_positive(spec.num_hidden_layers, "--layers");
  require_positive(spec.num_attention_heads, "--heads");
  require_positive(spec.num_key_value_heads, "--kv-heads");
  require_positive(spec.intermediate_size, "--intermediate");
  require_positive(spec.max_position_embeddings, "--max-positions");
  if (spec.hidden_size % spec.num_attention_heads != 0)
    throw InputError("--hidden (" + std::to_string(spec.hidden_size) +
                     ") must be a multiple of --heads (" +
                     std::to_string(spec.num_attention_heads) + ")");
  if ((spec.hidden_size / spec.num_attention_heads) % 2 != 0)
    throw InputError("--hidden / --heads must be even (RoPE rotates pairs of dimensions)");
  if (spec.num_attention_heads % spec.num_key_value_heads != 0)
    throw InputError("--heads must be a multiple of --kv-heads");
  if (!(spec.rope_theta > 0)) throw InputError("rope theta must be positive");
  Json json = {{"architectures", {"Qwen2ForCausalLM"}},
               {"model_type", "qwen2"},
               {"vocab_size", text::vocab_size(vocabulary)},
               {"hidden_size", spec.hidden_size},
               {"intermediate_size", spec.intermediate_size},
               {"num_hidden_layers", spec.num_hidden_layers},
               {"num_attention_heads", spec.num_attention_heads},
               {"num_key_value_heads", spec.num_key_value_heads},
               {"max_position_embeddings", spec.max_position_embeddings},
               {"rms_norm_eps", 1e-6},
               {"rope_theta", spec.rope_theta},
               {"hidden_act", "silu"},
               {"tie_word_embeddings", true},
               {"attention_dropout", 0.0},
               {"initializer_range", 0.02},
               {"use_sliding_window", false},
               {"sliding_window", nullptr},
               {"max_window_layers", spec.num_hidden_layers},
               {"use_cache", true},
               {"bos_token_id", nullptr},
               {"eos_token_id", text::eos_id(vocabulary)},
               {"pad_token_id", text::pad_id(vocabulary)},
               {"torch_dtype", "float32"}};
  return model::parse_model_config(json, "init-model config");
}

void init_char_model(const std::string& folder, const SmallModelSpec& spec,
                     const text::CharVocabulary& vocabulary, uint64_t seed) {
  model::ModelConfig config = small_model_config(spec, vocabulary);
  model::Model model = model::random_model(config, seed);
  TemporaryFolder temporary{io::staging_sibling(folder)};
  model::save_model(model, temporary.path.string(), at::kFloat);
  text::write_char_tokenizer(temporary.path.string(), vocabulary);
  io::publish_folder(temporary.path.string(), final_path(folder).string());
  temporary.published = true;
}

// ---------------------------------------------------------------------------------------------

SftLoss sft_loss(const model::Model& model, const std::vector<SftExample>& batch, int64_t pad_id) {
  if (batch.empty()) throw std::invalid_argument("sft_loss: empty batch");
  const int64_t B = static_cast<int64_t>(batch.size());
  int64_t T = 0;
  for (const auto& example : batch) {
    if (example.prompt.empty() || example.completion.empty())
      throw std::invalid_argument("sft_loss: an example has an empty prompt or completion");
    T = std::max<int64_t>(T, example.prompt.size() + example.completion.size());
  }
  const int64_t V = model.config.vocab_size;
  auto ids = at::full({B, T}, pad_id, at::kLong);
  auto mask = at::zeros({B, T}, at::kLong);
  std::vector<int64_t> rows;  // flattened (b, t) whose next token is a completion token
  std::vector<int64_t> targets;
  auto ids_view = ids.accessor<int64_t, 2>();
  auto mask_view = mask.accessor<int64_t, 2>();
  for (int64_t b = 0; b < B; ++b) {
    const auto& example = batch[b];
    const int64_t P = static_cast<int64_t>(example.prompt.size());
    const int64_t L = P + static_cast<int64_t>(example.completion.size());
    for (int64_t t = 0; t < L; ++t) {
      const int64_t token = t < P ? example.prompt[t] : example.completion[t - P];
      if (token < 0 || token >= V)
        throw InputError("token id " + std::to_string(token) +
                         " is outside the model's vocabulary [0, " + std::to_string(V) + ")");
      ids_view[b][t] = token;
      mask_view[b][t] = 1;
      if (t >= P) {
        rows.push_back(b * T + t - 1);
        targets.push_back(token);
      }
    }
  }
  const auto device = model.weights.embed_tokens.device();
  auto forward = model::make_batch(ids.to(device), mask.to(device), model::Padding::right);
  auto hidden = model::forward_hidden(model, forward);  // (B, T, C)
  auto picked = hidden.reshape({B * T, hidden.size(2)})
                    .index_select(0, at::tensor(rows, at::kLong).to(device));
  auto logprobs = model::token_logprobs(picked, model.weights.lm_head,
                                        at::tensor(targets, at::kLong).to(device));
  return {-logprobs.mean(), static_cast<int64_t>(targets.size())};
}

// ---------------------------------------------------------------------------------------------

std::vector<int64_t> encode_exactly(const text::Tokenizer& tokenizer, const std::string& text,
                                    const std::string& where) {
  auto ids = tokenizer.encode(text);
  if (tokenizer.decode(ids) != text)
    throw InputError(where + ": the tokenizer (" + tokenizer.source() +
                     ") does not reproduce the text \"" + text +
                     "\" (a character outside its vocabulary?)");
  return std::vector<int64_t>(ids.begin(), ids.end());
}

void validate(const AdditionSftData& data) {
  data::validate(data.task);
  if (!(data.direct_fraction >= 0.0 && data.direct_fraction <= 1.0))
    throw InputError("--direct-fraction must be in [0, 1], got " +
                     std::to_string(data.direct_fraction));
}

std::vector<data::AdditionProblem> addition_step_problems(const AdditionSftData& data,
                                                          uint64_t seed, long step, long batch_size,
                                                          std::vector<bool>* direct) {
  validate(data);
  std::mt19937_64 engine =
      data::seeded_engine({seed, static_cast<uint64_t>(step), kAdditionStream});
  const auto& task = data.task;
  const uint64_t range = static_cast<uint64_t>(task.max_term - task.min_term) + 1;
  std::vector<data::AdditionProblem> problems;
  if (direct) direct->clear();
  while (static_cast<long>(problems.size()) < batch_size) {
    int count = task.term_counts[data::uniform_below(engine, task.term_counts.size())];
    std::vector<int> terms;
    for (int i = 0; i < count; ++i)
      terms.push_back(task.min_term + static_cast<int>(data::uniform_below(engine, range)));
    auto problem = data::make_addition_problem(terms);
    if (data::split_of(problem.question, task.test_percent) != data::Split::train) continue;
    // Drawn whatever the fraction, so the questions of a seed do not depend on it.
    const bool is_direct = uniform_unit(engine) < data.direct_fraction;
    if (direct) direct->push_back(is_direct);
    problems.push_back(std::move(problem));
  }
  return problems;
}

BatchSource addition_batches(const AdditionSftData& data, const text::Tokenizer& tokenizer,
                             uint64_t seed, long batch_size) {
  return [data, tokenizer, seed, batch_size](long step) {
    std::vector<bool> direct;
    auto problems = addition_step_problems(data, seed, step, batch_size, &direct);
    std::vector<SftExample> batch;
    for (std::size_t i = 0; i < problems.size(); ++i) {
      const auto& problem = problems[i];
      batch.push_back({encode_exactly(tokenizer, problem.question, "addition task"),
                       encode_exactly(tokenizer, direct[i] ? problem.direct : problem.reasoning,
                                      "addition task")});
    }
    return batch;
  };
}

std::vector<SftExample> read_sft_jsonl(const std::string& path, const text::Tokenizer& tokenizer,
                                       const std::vector<int64_t>& eos_ids, int64_t max_tokens) {
  std::vector<SftExample> examples;
  io::for_each_jsonl(path, [&](const io::Json& line, long number) {
    auto text_field = [&](const char* key) {
      const auto& value = io::require_field(line, key, path, number);
      if (!value.is_string())
        throw_input_error(path, number, std::string("\"") + key + "\" must be a string");
      if (value.get_ref<const std::string&>().empty())
        throw_input_error(path, number, std::string("\"") + key + "\" is empty");
      return value.get<std::string>();
    };
    const std::string where = located(path, number, "");
    SftExample example;
    example.prompt = encode_exactly(tokenizer, text_field("prompt"), where + "\"prompt\"");
    example.completion =
        encode_exactly(tokenizer, text_field("completion"), where + "\"completion\"");
    if (!eos_ids.empty() &&
        std::find(eos_ids.begin(), eos_ids.end(), example.completion.back()) == eos_ids.end())
      example.completion.push_back(eos_ids.front());
    const int64_t length = static_cast<int64_t>(example.prompt.size() + example.completion.size());
    if (length > max_tokens)
      throw_input_error(path, number,
                        "prompt and completion take " + std::to_string(length) +
                            " tokens, more than the model's " + std::to_string(max_tokens));
    examples.push_back(std::move(example));
  });
  if (examples.empty()) throw_input_error(path, 0, "no examples");
  return examples;
}

BatchSource dataset_batches(std::vector<SftExample> examples, uint64_t seed, long batch_size) {
  if (examples.empty()) throw std::invalid_argument("dataset_batches: no examples");
  struct State {
    std::vector<SftExample> examples;
    uint64_t cached_epoch = UINT64_MAX;
    std::vector<std::size_t> order;
  };
  auto state = std::make_shared<State>();
  state->examples = std::move(examples);
  return [state, seed, batch_size](long step) {
    const uint64_t n = state->examples.size();
    std::vector<SftExample> batch;
    for (long i = 0; i < batch_size; ++i) {
      const uint64_t position = static_cast<uint64_t>(step) * batch_size + i;
      const uint64_t epoch = position / n;
      if (epoch != state->cached_epoch) {
        state->order.resize(n);
        std::iota(state->order.begin(), state->order.end(), std::size_t{0});
        auto engine = data::seeded_engine({seed, epoch, kDatasetStream});
        for (uint64_t j = n - 1; j > 0; --j)
          std::swap(state->order[j], state->order[data::uniform_below(engine, j + 1)]);
        state->cached_epoch = epoch;
      }
      batch.push_back(state->examples[state->order[position % n]]);
    }
    return batch;
  };
}

// ---------------------------------------------------------------------------------------------

void validate(const SftSettings& settings) {
  require_positive(settings.steps, "--steps");
  require_positive(settings.batch_size, "--batch-size");
  require_positive(settings.log_every, "--log-every");
  if (!(settings.learning_rate > 0) || !std::isfinite(settings.learning_rate))
    throw InputError("--lr must be a positive number");
  if (settings.warmup_steps < 0) throw InputError("--warmup-steps must be >= 0");
  if (!(settings.weight_decay >= 0) || !std::isfinite(settings.weight_decay))
    throw InputError("--weight-decay must be >= 0");
  if (!(settings.max_grad_norm >= 0) || !std::isfinite(settings.max_grad_norm))
    throw InputError("--max-grad-norm must be >= 0 (0: no clipping)");
  for (double beta : {settings.adam_beta1, settings.adam_beta2})
    if (!(beta >= 0 && beta < 1)) throw InputError("Adam betas must be in [0, 1)");
}

std::vector<double> run_sft(model::Model& model, const SftSettings& settings,
                            const BatchSource& source, int64_t pad_id,
                            const std::function<void(const SftLog&)>& on_log) {
  validate(settings);
  auto parameters = model::parameters(model);
  for (auto& parameter : parameters) parameter.requires_grad_(true);
  AdamW optimizer(parameters,
                  {settings.adam_beta1, settings.adam_beta2, 1e-8, settings.weight_decay});
  const auto start = Clock::now();
  std::vector<double> losses;
  SftLog window;
  for (long step = 0; step < settings.steps; ++step) {
    auto batch = source(step);
    optimizer.zero_grad();
    SftLoss loss = sft_loss(model, batch, pad_id);
    loss.loss.backward();
    const double norm = clip_grad_norm(parameters, settings.max_grad_norm);
    const double lr = scheduled_lr(settings.learning_rate, settings.lr_scheduler,
                                   settings.warmup_steps, settings.steps, step);
    optimizer.step(lr);
    losses.push_back(loss.loss.item<double>());

    window.loss += losses.back();
    window.grad_norm += norm;
    window.tokens += loss.tokens;
    window.lr = lr;
    ++window.window;
    if (window.window == settings.log_every || step + 1 == settings.steps) {
      window.step = step + 1;
      window.loss /= static_cast<double>(window.window);
      window.grad_norm /= static_cast<double>(window.window);
      window.seconds = seconds_since(start);
      if (on_log) on_log(window);
      window = SftLog{};
    }
  }
  optimizer.zero_grad();
  for (auto& parameter : parameters) parameter.requires_grad_(false);
  return losses;
}

void save_model_folder(const model::Model& model, const std::string& tokenizer_folder,
                       const std::string& folder) {
  TemporaryFolder temporary{io::staging_sibling(folder)};
  model::save_model(model, temporary.path.string(), file_dtype_of(model.config));
  io::write_model_side_files(io::read_model_side_files(tokenizer_folder), temporary.path.string());
  io::publish_folder(temporary.path.string(), final_path(folder).string());
  temporary.published = true;
}

// ---------------------------------------------------------------------------------------------

AdditionEvaluation score_addition(const std::vector<std::string>& questions,
                                  const std::vector<std::string>& greedy,
                                  const std::vector<std::vector<std::string>>& samples) {
  if (greedy.size() != questions.size() || samples.size() != questions.size())
    throw std::invalid_argument(
        "score_addition: one greedy completion and one sample list per "
        "question");
  eval::BenchmarkRecords records;
  records.name = "addition";
  records.num_questions = questions.size();
  AdditionEvaluation result;
  result.questions = questions.size();
  result.samples = questions.empty() ? 0 : static_cast<int64_t>(samples[0].size());
  double direct_greedy = 0, direct_samples = 0;
  for (std::size_t q = 0; q < questions.size(); ++q) {
    auto check = data::check_addition_completion(questions[q], greedy[q]);
    records.greedy.push_back({q, 0, check.has_answer ? check.answer : "", 0, check.correct});
    direct_greedy += check.direct;
    if (static_cast<int64_t>(samples[q].size()) != result.samples)
      throw std::invalid_argument("score_addition: questions have different sample counts");
    // Clusters by answer in order of first appearance; then each sample without an answer
    // in a cluster of its own, numbered after every answer so that it wins no tie.
    std::vector<data::AdditionCheck> checks;
    std::map<std::string, int> cluster_of;
    for (const auto& completion : samples[q]) {
      checks.push_back(data::check_addition_completion(questions[q], completion));
      direct_samples += checks.back().direct;
      if (checks.back().has_answer)
        cluster_of.emplace(checks.back().answer, static_cast<int>(cluster_of.size()));
    }
    int next_empty_cluster = static_cast<int>(cluster_of.size());
    for (std::size_t s = 0; s < checks.size(); ++s) {
      const auto& sample = checks[s];
      int cluster = sample.has_answer ? cluster_of.at(sample.answer) : next_empty_cluster++;
      records.samples.push_back(
          {q, s, sample.has_answer ? sample.answer : "", cluster, sample.correct});
    }
  }
  if (questions.empty()) return result;
  auto scores = eval::score_benchmark(records).scores;
  result.greedy_pass1 = scores.greedy_pass1.value_or(0.0);
  if (result.samples > 0) {
    result.sampled_pass1 = scores.avg_at_k.value_or(0.0);
    result.maj_at_g = scores.maj_at_k.value_or(0.0);
    result.sampled_direct = direct_samples / static_cast<double>(questions.size() * result.samples);
  }
  result.greedy_direct = direct_greedy / static_cast<double>(questions.size());
  return result;
}

AdditionEvaluation evaluate_addition(const model::Model& model, const text::Tokenizer& tokenizer,
                                     const std::vector<int64_t>& eos_ids,
                                     const AdditionEvalSettings& settings) {
  if (settings.questions == 0) throw InputError("--eval-questions must be positive");
  if (settings.samples <= 0) throw InputError("--eval-samples must be positive");
  if (!(settings.temperature > 0)) throw InputError("evaluation temperature must be positive");
  const auto start = Clock::now();
  at::NoGradGuard no_grad;
  auto problems = data::generate_addition_split(settings.task, data::Split::test,
                                                settings.questions, settings.seed);
  std::vector<std::string> questions;
  std::vector<std::vector<int64_t>> prompts;
  for (const auto& problem : problems) {
    questions.push_back(problem.question);
    prompts.push_back(encode_exactly(tokenizer, problem.question, "addition evaluation"));
  }
  generate::GenerationConfig config;
  config.max_new_tokens = settings.max_new_tokens;
  config.prompts_per_batch = settings.prompts_per_batch;
  config.eos_token_ids = eos_ids;
  config.seed = settings.seed;
  auto completions = [&](int64_t samples, bool greedy) {
    config.num_samples = samples;
    config.sampling = generate::SamplingParams{};
    config.sampling.greedy = greedy;
    config.sampling.temperature = settings.temperature;
    std::vector<std::vector<std::string>> texts(questions.size(),
                                                std::vector<std::string>(samples));
    for (const auto& sample : generate::generate(model, prompts, config)) {
      std::vector<text::TokenId> ids(sample.tokens.begin(), sample.tokens.end());
      texts.at(sample.prompt_index).at(sample.sample_index) = tokenizer.decode(ids);
    }
    return texts;
  };
  std::vector<std::string> greedy;
  for (auto& texts : completions(1, true)) greedy.push_back(std::move(texts[0]));
  auto samples = completions(settings.samples, false);
  auto result = score_addition(questions, greedy, samples);
  result.seconds = seconds_since(start);
  return result;
}

std::string format_addition_evaluation(const AdditionEvaluation& evaluation) {
  char line[320];
  std::snprintf(line, sizeof line,
                "greedy pass@1 %.1f%%  sampled pass@1 %.1f%%  maj@%lld %.1f%%  (direct answers: "
                "greedy %.1f%%, sampled %.1f%%; %zu test questions, %lld samples each, %.1f s)",
                100 * evaluation.greedy_pass1, 100 * evaluation.sampled_pass1,
                static_cast<long long>(evaluation.samples), 100 * evaluation.maj_at_g,
                100 * evaluation.greedy_direct, 100 * evaluation.sampled_direct,
                evaluation.questions, static_cast<long long>(evaluation.samples),
                evaluation.seconds);
  return line;
}

}  // namespace empo::rl
