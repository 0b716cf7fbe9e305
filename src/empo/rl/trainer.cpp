#include "empo/rl/trainer.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <numeric>
#include <optional>

#include "empo/data/prompt_source.h"
#include "empo/dist/process_group.h"
#include "empo/eval/benchmark.h"
#include "empo/generate/sampler.h"
#include "empo/io/error.h"
#include "empo/log/tensorboard.h"
#include "empo/model/logprobs.h"
#include "empo/model/runtime.h"
#include "empo/model/transformer.h"
#include "empo/rl/advantage.h"
#include "empo/rl/evaluate.h"
#include "empo/rl/optimizer.h"
#include "empo/rl/policy_loss.h"
#include "empo/rl/rewards.h"

namespace empo::rl {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// One completion to learn from.
struct TrainSample {
  const std::vector<int64_t>* prompt = nullptr;
  std::vector<int64_t> completion;
  bool truncated = false;
  double advantage = 0;
  size_t chunk = 0;                 // gradient-accumulation chunk of its question
  std::vector<float> old_logprobs;  // when num_iterations > 1
  std::vector<float> ref_logprobs;  // when beta > 0
};

TrainSample make_sample(const std::vector<int64_t>& prompt, const generate::Sample& sample,
                        double advantage) {
  TrainSample result;
  result.prompt = &prompt;
  result.completion = sample.tokens;
  result.truncated = sample.finish == generate::FinishReason::kLength;
  result.advantage = advantage;
  return result;
}

// The questions of one rollout batch and what their samples earned.
struct Group {
  data::Question question;
  std::vector<int64_t> prompt;
  std::vector<generate::Sample> samples;
  std::vector<std::string> texts;
  GroupScore score;
  BandVerdict band = BandVerdict::keep;
  bool zero_std = false;
};

// Run state saved with every checkpoint: together with the weights, the optimizer moments and
// the config it determines everything that follows (sampling streams derive from
// questions_drawn, not from a stateful generator).
struct RunState {
  long step = 0;
  uint64_t questions_drawn = 0;
  int64_t num_tokens = 0;
  int guard_strikes = 0;
  bool stopped_by_guard = false;
};

// Right-padded prompt+completion rows and the rows of hidden states that predict each
// completion token.
struct PackedBatch {
  at::Tensor input_ids;       // (n, T)
  at::Tensor attention_mask;  // (n, T)
  at::Tensor predicting;      // (n * K) flat indices into (n * T)
  at::Tensor targets;         // (n * K)
  at::Tensor mask;            // (n, K) float
  int64_t K = 0;
};

PackedBatch pack(const std::vector<const TrainSample*>& samples, bool mask_truncated,
                 const at::Device& device) {
  const int64_t n = static_cast<int64_t>(samples.size());
  int64_t T = 1, K = 1;
  for (const auto* sample : samples) {
    T = std::max<int64_t>(T, sample->prompt->size() + sample->completion.size());
    K = std::max<int64_t>(K, sample->completion.size());
  }
  std::vector<int64_t> ids(n * T, 0), attention(n * T, 0), predicting(n * K, 0), targets(n * K, 0);
  std::vector<float> mask(n * K, 0.0f);
  for (int64_t row = 0; row < n; ++row) {
    const auto& prompt = *samples[row]->prompt;
    const auto& completion = samples[row]->completion;
    const int64_t P = static_cast<int64_t>(prompt.size());
    for (int64_t t = 0; t < P; ++t) ids[row * T + t] = prompt[t];
    for (size_t k = 0; k < completion.size(); ++k) ids[row * T + P + k] = completion[k];
    for (int64_t t = 0; t < P + static_cast<int64_t>(completion.size()); ++t)
      attention[row * T + t] = 1;
    const bool counts = !(mask_truncated && samples[row]->truncated);
    for (size_t k = 0; k < completion.size(); ++k) {
      predicting[row * K + k] = row * T + P - 1 + static_cast<int64_t>(k);
      targets[row * K + k] = completion[k];
      mask[row * K + k] = counts ? 1.0f : 0.0f;
    }
  }
  auto longs = [&](std::vector<int64_t>& values, std::vector<int64_t> shape) {
    return at::tensor(values, at::kLong).view(shape).to(device);
  };
  return {longs(ids, {n, T}),
          longs(attention, {n, T}),
          longs(predicting, {n * K}),
          longs(targets, {n * K}),
          at::tensor(mask).view({n, K}).to(device),
          K};
}

// Hidden states (n * K, C) that predict the completion tokens.
at::Tensor completion_hidden(const model::Model& model, const PackedBatch& batch) {
  auto hidden =
      model::forward_hidden(model, model::make_batch(batch.input_ids, batch.attention_mask));
  return hidden.reshape({-1, hidden.size(-1)}).index_select(0, batch.predicting);
}

std::vector<float> row_values(const at::Tensor& values, int64_t row, size_t count) {
  auto host = values[row].to(at::kCPU, at::kFloat).contiguous();
  return std::vector<float>(host.data_ptr<float>(), host.data_ptr<float>() + count);
}

at::Tensor stack_rows(const std::vector<const TrainSample*>& samples,
                      std::vector<float> TrainSample::*member, int64_t K,
                      const at::Device& device) {
  std::vector<float> values(samples.size() * K, 0.0f);
  for (size_t row = 0; row < samples.size(); ++row) {
    const auto& source = samples[row]->*member;
    std::copy(source.begin(), source.end(), values.begin() + row * K);
  }
  return at::tensor(values).view({static_cast<int64_t>(samples.size()), K}).to(device);
}

std::string checkpoint_name(long step) {
  return "checkpoint-" + std::to_string(step);
}

long checkpoint_step(const fs::path& path) {
  auto name = path.filename().string();
  const std::string prefix = "checkpoint-";
  if (name.rfind(prefix, 0) != 0) return -1;
  auto digits = name.substr(prefix.size());
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stol(digits);
}

std::vector<std::pair<long, fs::path>> checkpoints(const std::string& run_dir) {
  std::vector<std::pair<long, fs::path>> found;
  if (!fs::is_directory(run_dir)) return found;
  for (const auto& entry : fs::directory_iterator(run_dir)) {
    long step = checkpoint_step(entry.path());
    if (step >= 0 && fs::exists(entry.path() / "trainer_state.json"))
      found.push_back({step, entry.path()});
  }
  std::sort(found.begin(), found.end());
  return found;
}

// Tokenizer and generation files that make a checkpoint a complete Hugging Face folder.
void copy_model_side_files(const std::string& from, const fs::path& to) {
  for (const char* name : {"tokenizer.json", "tokenizer_config.json", "generation_config.json",
                           "special_tokens_map.json", "vocab.json", "merges.txt"}) {
    fs::path source = fs::path(from) / name;
    if (fs::exists(source)) fs::copy_file(source, to / name, fs::copy_options::overwrite_existing);
  }
}

class Run {
 public:
  Run(TrainConfig config, const std::string& weights_folder, bool resuming, dist::Group group)
      : config_(std::move(config)),
        group_(std::move(group)),
        run_dir_(config_.output_dir),
        device_(model::parse_device(config_.device)),
        dtype_(config_.dtype == Dtype::float32 ? at::kFloat
               : config_.dtype == Dtype::bfloat16
                   ? at::kBFloat16
                   : (device_.is_cuda() ? at::kBFloat16 : at::kFloat)),
        policy_(generate::load_policy(weights_folder, {dtype_, device_})),
        source_(data::PromptSource::from_file(config_.train_file, config_.seed)),
        equivalence_(make_equivalence()) {
    for (auto& parameter : model::parameters(policy_.model)) {
      parameter.requires_grad_(true);
      parameters_.push_back(parameter);
    }
    optimizer_ = std::make_unique<AdamW>(
        parameters_, AdamWSettings{config_.adam_beta1, config_.adam_beta2, config_.adam_epsilon,
                                   config_.weight_decay});
    if (needs_reference())  // the frozen reference is always the starting model
      reference_ = model::load_model(config_.model_name_or_path, {dtype_, device_});
    reward_settings_ = {config_.reward, config_.empty_answer_reward, answer_config(config_)};
    prompt_settings_.system_prompt = config_.system_prompt;
    prompt_settings_.question_template = config_.question_template;
    if (config_.chat_format == ChatFormat::chatml)
      prompt_settings_.format = text::ChatFormat::chatml;
    if (config_.chat_format == ChatFormat::raw) prompt_settings_.format = text::ChatFormat::raw;
    prompt_settings_.max_prompt_length = config_.max_prompt_length;
    const long questions_per_step = static_cast<long>(config_.per_device_train_batch_size) *
                                    config_.gradient_accumulation_steps;
    total_steps_ =
        config_.max_steps > 0
            ? config_.max_steps
            : static_cast<long>(std::ceil(config_.num_train_epochs * source_.questions().size() /
                                          questions_per_step));
    warmup_steps_ = config_.warmup_steps > 0
                        ? config_.warmup_steps
                        : static_cast<long>(std::ceil(config_.warmup_ratio * total_steps_));
    // Read the benchmarks once, up front: a bad eval file fails now, not at the first checkpoint.
    if (group_.is_main())
      for (const auto& path : config_.eval_files) benchmarks_.push_back(eval::load_benchmark(path));
    if (!resuming && group_.is_main()) prepare_fresh_run_dir();
    group_.barrier();
  }

  void restore(const fs::path& checkpoint) {
    auto state = io::Json::parse(io::read_file((checkpoint / "trainer_state.json").string()));
    state_.step = state.at("step").get<long>();
    state_.questions_drawn = state.at("questions_drawn").get<uint64_t>();
    state_.num_tokens = state.at("num_tokens").get<int64_t>();
    state_.guard_strikes = state.at("guard_strikes").get<int>();
    source_.cursor().restore(data::CursorState::from_json(state.at("cursor")));
    optimizer_->load_state(
        model::load_tensor_file((checkpoint / "optimizer.safetensors").string()));
    if (group_.is_main()) truncate_metrics(state_.step);
  }

  TrainResult run(const TrainHooks& hooks) {
    if (group_.is_main()) {
      io::write_file_atomic((fs::path(run_dir_) / "config.yaml").string(), to_yaml(config_));
      tensorboard_ = std::make_unique<log::TensorBoardWriter>(run_dir_ + "/tensorboard");
    }
    TrainResult result;
    while (state_.step < total_steps_ && !state_.stopped_by_guard) {
      const long before = state_.step;
      rollout_and_update(hooks);
      if (hooks.on_rollout_end && group_.is_main()) hooks.on_rollout_end(state_.step, policy_);
      if (config_.save_steps > 0 &&
          state_.step / config_.save_steps > before / config_.save_steps) {
        result.last_checkpoint = save_checkpoint();
        evaluate_benchmarks(hooks);
      }
    }
    if (result.last_checkpoint.empty() || checkpoint_step(result.last_checkpoint) != state_.step) {
      result.last_checkpoint = save_checkpoint();
      evaluate_benchmarks(hooks);
    }
    result.steps = state_.step;
    result.stopped_by_guard = state_.stopped_by_guard;
    if (!hooks.quiet && isatty(STDERR_FILENO)) std::cerr << "\n";
    return result;
  }

 private:
  bool needs_reference() const { return config_.beta > 0.0 || config_.guard_max_kl > 0.0; }

  AnswerEquivalence make_equivalence() {
    switch (config_.equivalence) {
      case Equivalence::math:
        return math_equivalence();
      case Equivalence::exact:
        return exact_equivalence();
      case Equivalence::judge: {
        judge_ = std::make_unique<generate::Policy>(
            generate::load_policy(config_.judge_model, {dtype_, device_}));
        auto scorer = generate::yes_no_scorer(*judge_);
        auto judge = std::make_shared<reward::Judge>([scorer](const std::string& prompt) {
          auto [yes, no] = scorer(prompt);
          return reward::YesNoLogProbs{yes, no};
        });
        return judge_equivalence(judge);
      }
    }
    return math_equivalence();
  }

  void prepare_fresh_run_dir() {
    if (!checkpoints(run_dir_).empty()) {
      if (!config_.overwrite_output_dir)
        throw InputError("output_dir " + run_dir_ +
                         " already holds checkpoints: continue it with `empo train --resume " +
                         run_dir_ +
                         "`, choose another output_dir, or set overwrite_output_dir=true");
      for (const auto& [step, path] : checkpoints(run_dir_)) fs::remove_all(path);
    }
    fs::create_directories(run_dir_);
    std::remove((fs::path(run_dir_) / "metrics.jsonl").c_str());
  }

  // Greedy pass@1 on each eval_files benchmark at every checkpoint: a metrics line
  // {"step", "eval/<name>/greedy_pass1"} (labels are read here, never by the rewards).
  void evaluate_benchmarks(const TrainHooks& hooks) {
    if (benchmarks_.empty()) return;
    io::Json line{{"step", state_.step}};
    auto settings = eval_settings_from(config_, equivalence_, 0);
    for (const auto& benchmark : benchmarks_) {
      auto results = evaluate_questions(policy_, benchmark.questions, settings);
      auto scores = eval::score_benchmark(eval::to_records(benchmark.name, results));
      line["eval/" + benchmark.name + "/greedy_pass1"] = scores.scores.greedy_pass1.value_or(0.0);
    }
    append_metrics(line);
    if (!hooks.quiet) std::cerr << "\n" << line.dump() << "\n";
  }

  void append_metrics(const io::Json& line) {
    if (tensorboard_) tensorboard_->add_scalars(line.value("step", 0L), line);
    auto path = (fs::path(run_dir_) / "metrics.jsonl").string();
    std::FILE* file = std::fopen(path.c_str(), "a");
    if (!file) throw InputError(path + ": cannot append metrics");
    std::string text = line.dump() + "\n";
    std::fwrite(text.data(), 1, text.size(), file);
    std::fclose(file);
  }

  // Keeps the metrics of steps up to `step` (a resumed run rewrites what came after).
  void truncate_metrics(long step) {
    auto path = (fs::path(run_dir_) / "metrics.jsonl").string();
    if (!fs::exists(path)) return;
    std::string kept;
    io::for_each_jsonl(path, [&](const io::Json& line, long) {
      if (line.value("step", 0L) <= step) kept += line.dump() + "\n";
    });
    io::write_file_atomic(path, kept);
  }

  generate::GenerationConfig generation_config() const {
    generate::GenerationConfig generation;
    generation.max_new_tokens = config_.max_completion_length;
    generation.num_samples = config_.num_generations;
    generation.prompts_per_batch = std::max(1, config_.per_device_train_batch_size);
    generation.seed = config_.seed;
    generation.sampling.temperature = config_.temperature;
    generation.sampling.top_p = config_.top_p;
    generation.sampling.top_k = config_.top_k;
    generation.sampling.min_p = config_.min_p;
    return generation;
  }

  // Draws `count` questions for all ranks together (every rank walks the same cursor), keeps
  // this rank's share (every world_size-th), samples G completions each and scores them. A
  // question's sampling streams derive from its global draw index, so the samples are the
  // same whatever the number of processes.
  std::vector<Group> draw_groups(size_t count) {
    std::vector<Group> groups;
    auto questions = source_.next_batch(count);
    const uint64_t first_draw = state_.questions_drawn;
    state_.questions_drawn += questions.size();
    std::vector<std::vector<int64_t>> prompts;
    std::vector<uint64_t> seeds;
    for (size_t i = group_.rank(); i < questions.size(); i += group_.world_size()) {
      Group group;
      group.prompt = generate::build_prompt(policy_, prompt_settings_, questions[i]);
      group.question = std::move(questions[i]);
      prompts.push_back(group.prompt);
      seeds.push_back(first_draw + i);
      groups.push_back(std::move(group));
    }
    auto start = Clock::now();
    auto completions = generate::complete(policy_, prompts, generation_config(), seeds);
    time_generate_ += seconds_since(start);
    const size_t G = static_cast<size_t>(config_.num_generations);
    start = Clock::now();
    for (size_t q = 0; q < groups.size(); ++q) {
      auto& group = groups[q];
      group.samples.assign(completions.samples.begin() + q * G,
                           completions.samples.begin() + (q + 1) * G);
      group.texts.assign(completions.texts.begin() + q * G,
                         completions.texts.begin() + (q + 1) * G);
      auto signal = token_signal(group);
      group.score =
          score_group(reward_settings_, group.question, group.texts, signal, equivalence_);
      group.band = entropy_band_verdict(group.score.normalized_entropy, config_.entropy_band);
      group.zero_std = unbiased_std(group.score.rewards.data(), G) < 1e-12;
    }
    time_reward_ += seconds_since(start);
    return groups;
  }

  // Mean self-certainty or token entropy of each sample under the sampling policy.
  std::vector<double> token_signal(const Group& group) {
    std::vector<double> signal;
    if (config_.reward != RewardType::self_certainty && config_.reward != RewardType::token_entropy)
      return signal;
    at::NoGradGuard no_grad;
    std::vector<TrainSample> samples;
    for (const auto& sample : group.samples)
      samples.push_back(make_sample(group.prompt, sample, 0));
    std::vector<const TrainSample*> rows;
    for (const auto& sample : samples) rows.push_back(&sample);
    auto batch = pack(rows, false, device_);
    auto hidden = completion_hidden(policy_.model, batch);
    auto statistics = model::token_statistics(hidden, policy_.model.weights.lm_head, batch.targets,
                                              std::max(config_.temperature, 1e-6));
    auto values = config_.reward == RewardType::self_certainty ? statistics.self_certainty
                                                               : statistics.entropy;
    auto per_row =
        (values.view({-1, batch.K}) * batch.mask).sum(1) / batch.mask.sum(1).clamp_min(1);
    for (int64_t row = 0; row < per_row.size(0); ++row)
      signal.push_back(per_row[row].item<double>());
    return signal;
  }

  // The unbiased std of all ranks' rewards together (scale_rewards = batch).
  double global_std(const std::vector<double>& rewards) const {
    double sum = 0, squares = 0;
    for (double reward : rewards) {
      sum += reward;
      squares += reward * reward;
    }
    auto totals = group_.all_reduce_sum({sum, squares, static_cast<double>(rewards.size())});
    if (totals[2] < 2) return 0.0;
    const double mean = totals[0] / totals[2];
    return std::sqrt(std::max(0.0, (totals[1] - totals[2] * mean * mean) / (totals[2] - 1)));
  }

  bool trainable(const Group& group) const {
    return group.band == BandVerdict::keep && !(config_.dynamic_sampling && group.zero_std);
  }

  void rollout_and_update(const TrainHooks& hooks) {
    time_generate_ = time_reward_ = 0;
    const size_t per_step = static_cast<size_t>(config_.per_device_train_batch_size) *
                            config_.gradient_accumulation_steps;
    // Questions per rollout batch over all processes (the batch size is per process).
    const size_t wanted = per_step * config_.steps_per_generation * group_.world_size();
    auto drawn = draw_groups(wanted);
    io::Json rollout = rollout_metrics(drawn);
    std::vector<Group> kept;
    for (auto& group : drawn)
      if (trainable(group)) kept.push_back(group);
    auto kept_everywhere = [&] {
      return static_cast<size_t>(group_.all_reduce_sum({static_cast<double>(kept.size())})[0]);
    };
    // Dynamic sampling: replace groups that teach nothing (zero std, outside the band).
    size_t kept_total = kept_everywhere();
    for (int round = 0;
         config_.dynamic_sampling && round < config_.max_resample_rounds && kept_total < wanted;
         ++round) {
      for (auto& group : draw_groups(wanted - kept_total))
        if (trainable(group)) kept.push_back(std::move(group));
      kept_total = kept_everywhere();
    }
    rollout["resampled_groups"] = static_cast<double>(kept_total);

    auto train_start = Clock::now();
    std::vector<double> rewards;
    for (const auto& group : kept)
      rewards.insert(rewards.end(), group.score.rewards.begin(), group.score.rewards.end());
    const int G = config_.num_generations;
    auto advantages = compute_advantages(rewards, G, config_.scale_rewards, global_std(rewards));
    std::vector<TrainSample> samples;
    for (size_t q = 0; q < kept.size(); ++q)
      for (int j = 0; j < G; ++j) {
        samples.push_back(
            make_sample(kept[q].prompt, kept[q].samples[j], advantages.values[q * G + j]));
      }
    const size_t steps = std::max<size_t>(1, config_.steps_per_generation);
    const size_t groups_per_step = (kept.size() + steps - 1) / steps;
    if (config_.num_iterations > 1)
      score_reference(samples, &TrainSample::old_logprobs, policy_.model);
    if (needs_reference()) score_reference(samples, &TrainSample::ref_logprobs, *reference_);
    double train_seconds = seconds_since(train_start);
    double first_kl = 0;  // the rollout policy's KL to the start, before this batch's updates
    bool first_step = true;
    for (int iteration = 0; iteration < config_.num_iterations; ++iteration) {
      for (size_t s = 0; s < steps && state_.step < total_steps_; ++s) {
        auto step_start = Clock::now();
        const size_t first = s * groups_per_step * G;
        const size_t last = std::min(samples.size(), (s + 1) * groups_per_step * G);
        io::Json metrics = rollout;
        optimizer_step(samples, first, last, metrics);
        if (first_step) first_kl = metrics["kl"].get<double>();
        first_step = false;
        metrics["time/generate"] = time_generate_;
        metrics["time/reward"] = time_reward_;
        metrics["time/train"] = train_seconds + seconds_since(step_start);
        train_seconds = 0;
        time_generate_ = time_reward_ = 0;
        log_step(metrics, hooks);
      }
    }
    check_guard(rollout, first_kl);
  }

  // Log-probs of every sample under `model` without gradients (old policy or reference).
  void score_reference(std::vector<TrainSample>& samples, std::vector<float> TrainSample::*member,
                       const model::Model& model) {
    at::NoGradGuard no_grad;
    for (const auto& micro : micro_batches(samples, 0, samples.size())) {
      auto batch = pack(micro, false, device_);
      auto logprobs = model::token_logprobs(completion_hidden(model, batch), model.weights.lm_head,
                                            batch.targets, sampling_temperature())
                          .view({-1, batch.K});
      for (size_t row = 0; row < micro.size(); ++row) {
        TrainSample& sample = samples[micro[row] - samples.data()];
        sample.*member = row_values(logprobs, row, sample.completion.size());
      }
    }
  }

  double sampling_temperature() const {
    return config_.temperature > 0 ? config_.temperature : 1.0;
  }

  std::vector<std::vector<const TrainSample*>> micro_batches(
      const std::vector<TrainSample>& samples, size_t first, size_t last) const {
    const size_t size = config_.micro_batch_size > 0 ? config_.micro_batch_size : last - first;
    std::vector<std::vector<const TrainSample*>> batches;
    for (size_t start = first; start < last; start += size) {
      std::vector<const TrainSample*> batch;
      for (size_t i = start; i < std::min(last, start + size); ++i) batch.push_back(&samples[i]);
      batches.push_back(batch);
    }
    return batches;
  }

  void optimizer_step(std::vector<TrainSample>& samples, size_t first, size_t last,
                      io::Json& metrics) {
    const double lr = scheduled_lr(config_.learning_rate, config_.lr_scheduler_type, warmup_steps_,
                                   total_steps_, state_.step);
    // Normalisers over the whole step (and per accumulation chunk for bnpo).
    const size_t G = static_cast<size_t>(config_.num_generations);
    const size_t chunk_samples = static_cast<size_t>(config_.per_device_train_batch_size) * G;
    // Counts over every rank: one normaliser for all processes keeps the summed gradient
    // equal to the single-process one.
    const size_t chunks = static_cast<size_t>(config_.gradient_accumulation_steps);
    std::vector<double> counts(chunks + 2, 0.0);  // tokens per chunk, step tokens, sequences
    for (size_t i = first; i < last; ++i) {
      auto& sample = samples[i];
      sample.chunk = std::min(chunks - 1, (i - first) / chunk_samples);
      double counted =
          (config_.mask_truncated_completions && sample.truncated) ? 0 : sample.completion.size();
      counts[sample.chunk] += counted;
      counts[chunks] += counted;
    }
    counts[chunks + 1] = static_cast<double>(last - first);
    counts = group_.all_reduce_sum(counts);
    const double step_tokens = counts[chunks];
    const double step_sequences = counts[chunks + 1];
    LossSettings settings{config_.loss_type, config_.epsilon, config_.epsilon_high, config_.beta};
    double loss_sum = 0, clipped_low = 0, clipped_high = 0, kl_sum = 0, counted = 0,
           entropy_sum = 0;
    bool any_gradient = false;
    for (size_t i = first; i < last;) {
      // Micro-batches never straddle an accumulation chunk (bnpo normalises per chunk).
      size_t end = i;
      const size_t limit = config_.micro_batch_size > 0 ? config_.micro_batch_size : last - first;
      while (end < last && end - i < limit && samples[end].chunk == samples[i].chunk) ++end;
      std::vector<const TrainSample*> micro;
      for (size_t k = i; k < end; ++k) micro.push_back(&samples[k]);
      LossNormalizers normalizers{
          std::max(1.0, step_sequences),
          config_.loss_type == LossType::bnpo
              ? std::max(1.0, counts[samples[i].chunk]) * static_cast<double>(chunks)
              : std::max(1.0, step_tokens),
          static_cast<double>(config_.max_completion_length)};
      auto batch = pack(micro, config_.mask_truncated_completions, device_);
      auto hidden = completion_hidden(policy_.model, batch);
      auto scored = model::token_logprobs_and_entropy(hidden, policy_.model.weights.lm_head,
                                                      batch.targets, sampling_temperature());
      auto logprobs = scored.logprobs.view({-1, batch.K});
      PolicyLossInputs inputs;
      inputs.logprobs = logprobs;
      inputs.old_logprobs = config_.num_iterations > 1
                                ? stack_rows(micro, &TrainSample::old_logprobs, batch.K, device_)
                                : logprobs.detach();
      if (needs_reference())
        inputs.ref_logprobs = stack_rows(micro, &TrainSample::ref_logprobs, batch.K, device_);
      std::vector<float> advantages;
      for (const auto* sample : micro) advantages.push_back(static_cast<float>(sample->advantage));
      inputs.advantages = at::tensor(advantages).to(device_);
      inputs.mask = batch.mask;
      auto result = policy_loss(inputs, settings, normalizers);
      if (result.loss.requires_grad()) {
        result.loss.backward();
        any_gradient = true;
      }
      loss_sum += result.loss.item<double>();
      clipped_low += result.clipped_low;
      clipped_high += result.clipped_high;
      kl_sum += result.kl_sum;
      counted += result.counted;
      entropy_sum += (scored.entropy.view({-1, batch.K}) * batch.mask).sum().item<double>();
      i = end;
    }
    double tokens = 0;
    for (size_t i = first; i < last; ++i)
      tokens += samples[i].prompt->size() + samples[i].completion.size();
    auto sums = group_.all_reduce_sum({loss_sum, clipped_low, clipped_high, kl_sum, counted,
                                       entropy_sum, tokens, any_gradient ? 1.0 : 0.0});
    loss_sum = sums[0], clipped_low = sums[1], clipped_high = sums[2], kl_sum = sums[3];
    counted = sums[4], entropy_sum = sums[5], tokens = sums[6];
    double grad_norm = 0;
    if (sums[7] > 0) {
      dist::all_reduce_gradients(group_, parameters_);
      grad_norm = clip_grad_norm(parameters_, config_.max_grad_norm);
      optimizer_->step(lr);
    }
    optimizer_->zero_grad();
    ++state_.step;
    state_.num_tokens += static_cast<int64_t>(tokens);
    metrics["step"] = state_.step;
    metrics["epoch"] = source_.cursor().epochs_done();
    metrics["loss"] = loss_sum;
    metrics["grad_norm"] = grad_norm;
    metrics["learning_rate"] = lr;
    metrics["num_tokens"] = state_.num_tokens;
    metrics["entropy"] = counted > 0 ? entropy_sum / counted : 0.0;
    metrics["clip_ratio/low_mean"] = counted > 0 ? clipped_low / counted : 0.0;
    metrics["clip_ratio/high_mean"] = counted > 0 ? clipped_high / counted : 0.0;
    metrics["kl"] = counted > 0 ? kl_sum / counted : 0.0;
    metrics["train_samples"] = step_sequences;
  }

  // Rollout metrics over every rank's groups (sums are reduced, then divided).
  io::Json rollout_metrics(const std::vector<Group>& groups) const {
    enum Sum {
      kReward,
      kRewardSquares,
      kSamples,
      kEntropy,
      kClusters,
      kGroups,
      kZeroStd,
      kBelow,
      kAbove,
      kLength,
      kTruncated,
      kCorrect,
      kLabelled,
      kMajority,
      kLabelledGroups,
      kSums
    };
    std::vector<double> sums(kSums, 0.0);
    double shortest = std::numeric_limits<double>::infinity(), longest = 0;
    for (const auto& group : groups) {
      for (double reward : group.score.rewards) {
        sums[kReward] += reward;
        sums[kRewardSquares] += reward * reward;
        sums[kSamples] += 1;
      }
      sums[kEntropy] += group.score.clustering.entropy;
      sums[kClusters] += static_cast<double>(group.score.clustering.cluster_sizes.size());
      sums[kGroups] += 1;
      sums[kZeroStd] += group.zero_std;
      sums[kBelow] += group.band == BandVerdict::below;
      sums[kAbove] += group.band == BandVerdict::above;
      for (const auto& sample : group.samples) {
        const double length = static_cast<double>(sample.tokens.size());
        sums[kLength] += length;
        shortest = std::min(shortest, length);
        longest = std::max(longest, length);
        sums[kTruncated] += sample.finish == generate::FinishReason::kLength;
      }
      for (bool correct : group.score.correct) {
        sums[kCorrect] += correct;
        sums[kLabelled] += 1;
      }
      if (!group.score.correct.empty()) {
        sums[kMajority] += group.score.majority_correct;
        sums[kLabelledGroups] += 1;
      }
    }
    sums = group_.all_reduce_sum(sums);
    shortest = group_.all_reduce_min(shortest);
    longest = group_.all_reduce_max(longest);
    auto ratio = [](double numerator, double denominator) {
      return denominator > 0 ? numerator / denominator : 0.0;
    };
    const double reward_mean = ratio(sums[kReward], sums[kSamples]);
    const double entropy_mean = ratio(sums[kEntropy], sums[kGroups]);
    io::Json metrics;
    metrics["reward"] = reward_mean;
    metrics["reward_std"] =
        sums[kSamples] > 1
            ? std::sqrt(std::max(
                  0.0, (sums[kRewardSquares] - sums[kSamples] * reward_mean * reward_mean) /
                           (sums[kSamples] - 1)))
            : 0.0;
    metrics["frac_reward_zero_std"] = ratio(sums[kZeroStd], sums[kGroups]);
    metrics["completions/mean_length"] = ratio(sums[kLength], sums[kSamples]);
    metrics["completions/min_length"] = std::isfinite(shortest) ? shortest : 0.0;
    metrics["completions/max_length"] = longest;
    metrics["completions/clipped_ratio"] = ratio(sums[kTruncated], sums[kSamples]);
    metrics["empo/semantic_entropy"] = entropy_mean;
    metrics["empo/normalized_entropy"] =
        entropy_mean / std::log(static_cast<double>(std::max(2, config_.num_generations)));
    metrics["empo/num_clusters"] = ratio(sums[kClusters], sums[kGroups]);
    metrics["empo/filtered_low"] = ratio(sums[kBelow], sums[kGroups]);
    metrics["empo/filtered_high"] = ratio(sums[kAbove], sums[kGroups]);
    if (sums[kLabelled] > 0) {
      metrics["monitor/accuracy"] = ratio(sums[kCorrect], sums[kLabelled]);
      metrics["monitor/majority_accuracy"] = ratio(sums[kMajority], sums[kLabelledGroups]);
    }
    return metrics;
  }

  // The collapse guard's stop rule: semantic entropy collapsed while the reward saturates,
  // for guard_patience rollouts in a row. Needs no labels.
  void check_guard(const io::Json& rollout, double kl) {
    if (config_.guard_max_kl > 0.0 && kl > config_.guard_max_kl) {
      state_.stopped_by_guard = true;
      std::cerr << "empo: collapse guard: KL to the starting policy " << kl << " > budget "
                << config_.guard_max_kl << "; stopping at step " << state_.step << "\n";
      return;
    }
    if (!config_.guard_stop_rule) return;
    state_.guard_strikes =
        guard_strikes_after(state_.guard_strikes, rollout["empo/normalized_entropy"].get<double>(),
                            rollout["reward"].get<double>(), config_);
    if (state_.guard_strikes >= config_.guard_patience) {
      state_.stopped_by_guard = true;
      std::cerr << "empo: collapse guard: normalised semantic entropy < "
                << config_.guard_entropy_floor << " while reward > " << config_.guard_reward_ceiling
                << " for " << config_.guard_patience << " rollouts; stopping at step "
                << state_.step << "\n";
    }
  }

  void log_step(io::Json& metrics, const TrainHooks& hooks) {
    metrics["guard/strikes"] = state_.guard_strikes;
    const double step_seconds = metrics["time/generate"].get<double>() +
                                metrics["time/reward"].get<double>() +
                                metrics["time/train"].get<double>();
    metrics["tokens_per_second"] = step_seconds > 0
                                       ? metrics["completions/mean_length"].get<double>() *
                                             metrics["train_samples"].get<double>() / step_seconds
                                       : 0.0;
    if (!group_.is_main()) return;  // rank 0 logs for everyone (metrics are reduced)
    if (state_.step % config_.logging_steps == 0 || state_.step == total_steps_)
      append_metrics(metrics);
    if (!hooks.quiet) print_progress(metrics);
    if (hooks.on_step) hooks.on_step(state_.step, metrics);
  }

  void print_progress(const io::Json& metrics) const {
    char line[256];
    std::snprintf(line, sizeof line,
                  "step %ld/%ld  reward %.3f  H %.3f  len %.1f  loss %+.4f  lr %.2e", state_.step,
                  total_steps_, metrics["reward"].get<double>(),
                  metrics["empo/semantic_entropy"].get<double>(),
                  metrics["completions/mean_length"].get<double>(), metrics["loss"].get<double>(),
                  metrics["learning_rate"].get<double>());
    std::string text = line;
    if (metrics.contains("monitor/accuracy"))
      text += "  acc " + std::to_string(metrics["monitor/accuracy"].get<double>()).substr(0, 5);
    if (isatty(STDERR_FILENO))
      std::cerr << "\r" << text << "\033[K" << std::flush;
    else
      std::cerr << text << "\n";
  }

  std::string save_checkpoint() {
    fs::path final_path = fs::path(run_dir_) / checkpoint_name(state_.step);
    // Every rank holds the same weights and optimizer state; rank 0 writes them.
    if (!group_.is_main()) {
      group_.barrier();
      return final_path.string();
    }
    fs::path temp_path = final_path.string() + ".tmp";
    fs::remove_all(temp_path);
    fs::create_directories(temp_path);
    model::save_model(policy_.model, temp_path.string(),
                      policy_.model.weights.embed_tokens.scalar_type());
    copy_model_side_files(policy_.folder, temp_path);
    model::save_tensor_file((temp_path / "optimizer.safetensors").string(), optimizer_->state());
    io::Json state{{"step", state_.step},
                   {"questions_drawn", state_.questions_drawn},
                   {"num_tokens", state_.num_tokens},
                   {"guard_strikes", state_.guard_strikes},
                   {"cursor", source_.cursor().state().to_json()},
                   {"total_steps", total_steps_}};
    io::write_file_atomic((temp_path / "trainer_state.json").string(), state.dump(2) + "\n");
    fs::remove_all(final_path);
    fs::rename(temp_path, final_path);
    auto existing = checkpoints(run_dir_);
    if (config_.save_total_limit > 0)
      for (size_t i = 0; i + config_.save_total_limit < existing.size(); ++i)
        fs::remove_all(existing[i].second);
    group_.barrier();
    return final_path.string();
  }

  TrainConfig config_;
  dist::Group group_;
  std::string run_dir_;
  at::Device device_;
  at::ScalarType dtype_;
  generate::Policy policy_;
  std::unique_ptr<generate::Policy> judge_;
  data::PromptSource source_;
  AnswerEquivalence equivalence_;
  std::optional<model::Model> reference_;
  std::vector<at::Tensor> parameters_;
  std::unique_ptr<AdamW> optimizer_;
  RewardSettings reward_settings_;
  generate::PromptSettings prompt_settings_;
  long total_steps_ = 0;
  long warmup_steps_ = 0;
  RunState state_;
  std::unique_ptr<log::TensorBoardWriter> tensorboard_;  // rank 0: RUN_DIR/tensorboard
  std::vector<eval::Benchmark> benchmarks_;              // rank 0: eval_files
  double time_generate_ = 0;
  double time_reward_ = 0;
};

}  // namespace

int guard_strikes_after(int strikes, double normalized_entropy, double mean_reward,
                        const TrainConfig& config) {
  const bool collapsed =
      normalized_entropy < config.guard_entropy_floor && mean_reward > config.guard_reward_ceiling;
  return collapsed ? strikes + 1 : 0;
}

std::string latest_checkpoint(const std::string& run_dir) {
  auto found = checkpoints(run_dir);
  return found.empty() ? "" : found.back().second.string();
}

TrainResult train(const TrainConfig& config, const TrainHooks& hooks) {
  validate(config);
  model::init_runtime();
  Run run(config, config.model_name_or_path, /*resuming=*/false, dist::Group::from_environment());
  return run.run(hooks);
}

TrainResult resume(const std::string& run_dir, const std::vector<std::string>& overrides,
                   const TrainHooks& hooks) {
  auto checkpoint = latest_checkpoint(run_dir);
  if (checkpoint.empty()) throw InputError(run_dir + ": no checkpoint to resume from");
  auto config = load_config((fs::path(run_dir) / "config.yaml").string(), overrides);
  config.output_dir = run_dir;
  model::init_runtime();
  Run run(config, checkpoint, /*resuming=*/true, dist::Group::from_environment());
  run.restore(checkpoint);
  return run.run(hooks);
}

}  // namespace empo::rl
