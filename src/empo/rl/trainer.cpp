#include "empo/rl/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <limits>
#include <optional>

#include "empo/data/prompt_source.h"
#include "empo/dist/process_group.h"
#include "empo/eval/benchmark.h"
#include "empo/generate/judge_scorer.h"
#include "empo/generate/sampler.h"
#include "empo/io/checkpoint_store.h"
#include "empo/io/durable.h"
#include "empo/io/error.h"
#include "empo/io/model_files.h"
#include "empo/io/stop_request.h"
#include "empo/log/completions.h"
#include "empo/log/metrics_log.h"
#include "empo/log/progress.h"
#include "empo/log/tensorboard.h"
#include "empo/model/device.h"
#include "empo/model/logprobs.h"
#include "empo/model/lora.h"
#include "empo/model/runtime.h"
#include "empo/model/transformer.h"
#include "empo/reward/judge_clustering.h"
#include "empo/rl/advantage.h"
#include "empo/rl/answer_flips.h"
#include "empo/rl/evaluate.h"
#include "empo/rl/grad_accumulation.h"
#include "empo/rl/memory_plan.h"
#include "empo/rl/optimizer.h"
#include "empo/rl/policy_loss.h"
#include "empo/rl/rewards.h"
#include "empo/rl/rollout.h"
#include "empo/rl/rollout_correction.h"
#include "empo/rl/update.h"
#include "empo/rl/update_plan.h"
#include "empo/rl/zero_optimizer.h"

namespace empo::rl {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

// Written last into a checkpoint: its presence marks the checkpoint complete.
constexpr char kTrainerState[] = "trainer_state.json";

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Run state saved with every checkpoint: together with the weights, the optimizer moments and
// the config it determines everything that follows (sampling streams derive from
// questions_drawn, not from a stateful generator).
struct RunState {
  long step = 0;
  uint64_t questions_drawn = 0;
  int64_t num_tokens = 0;
  int guard_strikes = 0;
  long skipped_steps = 0;  // updates skipped for a non-finite loss or gradient norm
  bool stopped_by_guard = false;
  bool stopped_by_signal = false;
  int nonfinite_in_row = 0;  // not saved: a checkpoint is only written after a good step
};

// Tokenizer, chat template and generation files that make a checkpoint a complete Hugging Face
// checkpoint's chat_template.jinja, so the checkpoint renders the prompts it was trained on.
using SideFiles = std::vector<std::pair<std::string, std::string>>;  // (name, contents)

SideFiles checkpoint_side_files(const std::string& folder, const std::string& chat_template) {
  SideFiles files = io::read_model_side_files(folder);
  std::error_code error;
  if (!chat_template.empty() && fs::is_regular_file(chat_template, error)) {
    files.erase(
        std::remove_if(files.begin(), files.end(),
                       [](const auto& file) { return file.first == "chat_template.jinja"; }),
        files.end());
    files.emplace_back("chat_template.jinja", io::read_file(chat_template));
  }
  return files;
}

io::Json finite_or_null(double value) {
  return std::isfinite(value) ? io::Json(value) : io::Json(nullptr);
}

// A LoRA run's checkpoint holds only the adapters: the weights always come from the base.
std::string policy_folder(const TrainConfig& config, const std::string& weights_folder) {
  return config.lora_r > 0 ? config.model_name_or_path : weights_folder;
}

at::ScalarType train_dtype(const TrainConfig& config, const at::Device& device) {
  if (config.dtype == Dtype::float32) return at::kFloat;
  if (config.dtype == Dtype::bfloat16) return at::kBFloat16;
  return device.is_cuda() ? at::kBFloat16 : at::kFloat;
}

class Run {
 public:
  Run(TrainConfig config, const std::string& weights_folder, bool resuming, dist::Group group)
      : config_(std::move(config)),
        group_(std::move(group)),
        run_dir_(config_.output_dir),
        store_(run_dir_, kTrainerState, config_.save_total_limit),
        metrics_log_((fs::path(run_dir_) / "metrics.jsonl").string()),
        completions_log_((fs::path(run_dir_) / "completions.jsonl").string()),
        device_(dist::rank_device(model::parse_device(config_.device))),
        dtype_(train_dtype(config_, device_)),
        source_(data::read_train_questions(config_.train_file, config_.truthfulqa_split,
                                           config_.skip_bad_lines ? &skipped_lines_ : nullptr),
                config_.seed),
        side_files_(checkpoint_side_files(weights_folder, config_.chat_template)),
        policy_(generate::load_policy(policy_folder(config_, weights_folder),
                                      {dtype_, device_, config_.attn_implementation},
                                      config_.chat_template)),
        equivalence_(make_equivalence()) {
    if (group_.is_main())
      for (const auto& skipped : skipped_lines_)
        std::cerr << "empo: skipping " << skipped.message << "\n";
    policy_.model.gradient_checkpointing = config_.gradient_checkpointing;
    if (config_.lora_r > 0)
      attach_lora(weights_folder, resuming);
    else
      parameters_ = model::parameters(policy_.model);
    for (auto& parameter : parameters_) parameter.requires_grad_(true);
    accumulator_ = GradAccumulator(parameters_);
    optimizer_ =
        std::make_unique<ZeroOptimizer>(parameters_,
                                        AdamWSettings{config_.adam_beta1, config_.adam_beta2,
                                                      config_.adam_epsilon, config_.weight_decay},
                                        group_, config_.zero_stage);
    // The frozen reference is always the starting model; a LoRA run's is its own base with
    // the adapters off, sharing the weights.
    if (needs_reference())
      reference_ = config_.lora_r > 0
                       ? model::without_lora(policy_.model)
                       : model::load_model(config_.model_name_or_path,
                                           {dtype_, device_, config_.attn_implementation});
    reward_settings_ = reward_settings(config_);
    prompt_settings_.system_prompt = config_.system_prompt;
    prompt_settings_.question_template = config_.question_template;
    if (config_.chat_format == ChatFormat::chatml)
      prompt_settings_.format = text::ChatFormat::chatml;
    if (config_.chat_format == ChatFormat::raw) prompt_settings_.format = text::ChatFormat::raw;
    prompt_settings_.chat_template_kwargs = config_.chat_template_kwargs;
    prompt_settings_.max_prompt_length = config_.max_prompt_length;
    prompt_settings_.truncate_left = config_.truncate_prompts == TruncatePrompts::left;
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
    micro_batch_size_ = update_micro_batch_size();
    // Read the benchmarks once, up front: a bad eval file fails now, not at the first
    // checkpoint. Every rank evaluates its share of them.
    for (const auto& path : config_.eval_files) benchmarks_.push_back(eval::load_benchmark(path));
    if (group_.is_main()) {
      if (resuming)
        store_.clean_incomplete();
      else
        prepare_fresh_run_dir();
    }
    group_.barrier();
  }

  // Sequences per forward/backward: the config's, or with micro_batch_size 0 on a GPU the most
  // whose activations fit in the free device memory less the gradients the update will hold
  // (empo plan shows the same choice for a device size). On CPU 0 stays "a whole chunk".
  std::size_t update_micro_batch_size() const {
    if (config_.micro_batch_size > 0 || !device_.is_cuda())
      return static_cast<std::size_t>(config_.micro_batch_size);
    PlanTarget target;
    target.gpu = true;
    target.fused_attention = model::build_info().fused_attention;
    target.nproc = group_.world_size();
    const auto& architecture = policy_.model.config;
    const MemoryPlan plan = plan_memory(config_, architecture, std::nullopt, target);
    const int64_t left = model::free_device_memory(device_) - plan.gradients;
    const int64_t sequences = auto_micro_batch(config_, architecture, target, left);
    if (group_.is_main())
      std::cerr << "empo: micro_batch_size 0 on " << device_ << ": " << sequences
                << " sequences per forward/backward fit in the free device memory\n";
    return static_cast<std::size_t>(sequences);
  }

  void restore(const std::string& checkpoint) {
    const fs::path folder = checkpoint;
    const std::string state_path = (folder / kTrainerState).string();
    auto state = io::parse_json(io::read_file(state_path), state_path);
    long saved_global_batch = 0;
    int saved_world_size = 0;
    try {
      state_.step = state.at("step").get<long>();
      state_.questions_drawn = state.at("questions_drawn").get<uint64_t>();
      state_.num_tokens = state.at("num_tokens").get<int64_t>();
      state_.guard_strikes = state.at("guard_strikes").get<int>();
      state_.skipped_steps = state.value("skipped_steps", 0L);
      if (state.contains("answer_flips"))
        answer_flips_ = AnswerFlips::from_json(state.at("answer_flips"));
      saved_global_batch = state.value("global_batch_size", global_batch_size(group_.world_size()));
      saved_world_size = state.value("world_size", group_.world_size());
    } catch (const io::Json::exception& error) {
      throw_input_error(state_path, 0, std::string("malformed trainer state: ") + error.what());
    }
    if (saved_global_batch != global_batch_size(group_.world_size()))
      throw_input_error(
          state_path, 0,
          "the checkpoint was trained on " + std::to_string(saved_world_size) +
              " processes with a global batch of " + std::to_string(saved_global_batch) +
              " questions per optimizer step; on " + std::to_string(group_.world_size()) +
              " processes per_device_train_batch_size x gradient_accumulation_steps must be " +
              std::to_string(saved_global_batch) + " / " + std::to_string(group_.world_size()));
    source_.cursor().restore(data::CursorState::from_json(state.at("cursor")));
    optimizer_->load(folder.string());  // any zero_stage, any number of ranks
    if (group_.is_main()) {
      metrics_log_.keep_through(state_.step);
      completions_log_.keep_through(state_.step);
    }
  }

  TrainResult run(const TrainHooks& hooks) {
    if (group_.is_main()) {
      io::write_file_atomic((fs::path(run_dir_) / "config.yaml").string(), to_yaml(config_));
      tensorboard_ = std::make_unique<log::TensorBoardWriter>(run_dir_ + "/tensorboard");
      if (!hooks.quiet)
        progress_ = std::make_unique<log::ProgressMeter>("step", total_steps_, state_.step);
    }
    TrainResult result;
    while (state_.step < total_steps_ && !state_.stopped_by_guard && !stop_agreed()) {
      const long before = state_.step;
      rollout_and_update(hooks);
      if (hooks.on_rollout_end && group_.is_main()) hooks.on_rollout_end(state_.step, policy_);
      // No checkpoint inside a streak of skipped updates: it would rotate good ones away.
      if (config_.save_steps > 0 && !state_.stopped_by_signal && state_.nonfinite_in_row == 0 &&
          state_.step / config_.save_steps > before / config_.save_steps) {
        result.last_checkpoint = save_checkpoint();
        evaluate_benchmarks(hooks);
      }
    }
    if (result.last_checkpoint.empty() ||
        io::CheckpointStore::step_of(result.last_checkpoint) != state_.step) {
      result.last_checkpoint = save_checkpoint();
      if (!state_.stopped_by_signal) evaluate_benchmarks(hooks);
    }
    result.steps = state_.step;
    result.stopped_by_guard = state_.stopped_by_guard;
    result.stopped_by_signal = state_.stopped_by_signal;
    if (progress_) progress_->finish();
    return result;
  }

 private:
  bool needs_reference() const { return config_.beta > 0.0 || config_.guard_max_kl > 0.0; }

  // LoRA: the base stays frozen and only the adapters train (and get optimizer state). A fresh
  // run draws them from the seed; a resumed one reads its checkpoint's, which must have been
  // made with the same settings.
  void attach_lora(const std::string& weights_folder, bool resuming) {
    const auto settings = lora_settings(config_);
    if (resuming) {
      policy_.model.lora = model::load_lora_adapter(weights_folder, policy_.model,
                                                    {dtype_, device_, config_.attn_implementation});
      const auto& saved = policy_.model.lora->settings;
      if (saved.r != settings.r || saved.alpha != settings.alpha ||
          saved.targets != settings.targets)
        throw InputError(weights_folder +
                         "/adapter_config.json: r, lora_alpha or target_modules differ from the "
                         "run's lora_r, lora_alpha, lora_target_modules (an adapter cannot change "
                         "shape mid-run)");
      policy_.model.lora->settings.dropout = settings.dropout;
    } else {
      policy_.model.lora = model::init_lora(policy_.model, settings, config_.seed);
    }
    parameters_ = model::lora_parameters(*policy_.model.lora);
  }

  // A stop is acted on only when every rank agrees on the same step: a signal may reach the
  // ranks at different moments, so the request is reduced (any rank asking stops all).
  bool stop_agreed() {
    if (state_.stopped_by_signal) return true;
    const double asked = io::StopRequest::requested() ? 1.0 : 0.0;
    state_.stopped_by_signal = group_.all_reduce_max(asked) > 0.0;
    return state_.stopped_by_signal;
  }

  AnswerEquivalence make_equivalence() {
    switch (config_.equivalence) {
      case Equivalence::math:
        return math_equivalence();
      case Equivalence::exact:
        return exact_equivalence();
      case Equivalence::judge: {
        judge_ = std::make_unique<generate::Policy>(generate::load_policy(
            config_.judge_model, {dtype_, device_, config_.attn_implementation}));
        const auto prompt = reward::judge_prompt_from_name(config_.judge_prompt);
        auto to_judge_scores = generate::judge_batch_scorer(*judge_, prompt.chat_turn);
        reward::JudgeConfig judge_config;
        judge_config.prompt_template = prompt.text;
        judge_config.mode = config_.judge_direction == JudgeDirection::one_way
                                ? reward::JudgeMode::one_way
                                : reward::JudgeMode::bidirectional;
        // Matching a golden answer (monitoring) asks one pair at a time.
        auto judge = std::make_shared<reward::Judge>(
            [to_judge_scores](const std::string& prompt) { return to_judge_scores({prompt})[0]; },
            judge_config);
        AnswerEquivalence equivalence = judge_equivalence(judge);
        // Clustering sends each round of comparisons as one batch (reward/judge_clustering.h),
        // a round of every question of the rollout batch together.
        equivalence.cluster = [to_judge_scores, judge_config](
                                  const std::string& question,
                                  const std::vector<std::string>& answers) {
          return reward::cluster_with_judge(question, answers, to_judge_scores, judge_config);
        };
        equivalence.cluster_many = [to_judge_scores, judge_config](
                                       const std::vector<reward::JudgeClusteringInput>& inputs) {
          return reward::cluster_many_with_judge(inputs, to_judge_scores, judge_config);
        };
        return equivalence;
      }
    }
    return math_equivalence();
  }

  void prepare_fresh_run_dir() {
    if (!store_.list().empty()) {
      if (!config_.overwrite_output_dir)
        throw InputError("output_dir " + run_dir_ +
                         " already holds checkpoints: continue it with `empo train --resume " +
                         run_dir_ +
                         "`, choose another output_dir, or set overwrite_output_dir=true");
      store_.remove_all();
    }
    store_.clean_incomplete();
    fs::create_directories(run_dir_);
    metrics_log_.remove();
    completions_log_.remove();
  }

  // Greedy pass@1 on each eval_files benchmark at every checkpoint: a metrics line
  // {"step", "eval/<name>/greedy_pass1"} (labels are read here, never by the rewards). Each
  // rank grades every world_size-th question, so no rank idles at a collective meanwhile.
  void evaluate_benchmarks(const TrainHooks& hooks) {
    if (benchmarks_.empty()) return;
    io::Json line{{"step", state_.step}};
    auto settings = eval_settings_from(config_, equivalence_, 0);
    settings.session = &decode_session_;
    for (const auto& benchmark : benchmarks_) {
      std::vector<data::Question> share;
      for (size_t i = group_.rank(); i < benchmark.questions.size(); i += group_.world_size())
        share.push_back(benchmark.questions[i]);
      double correct = 0;
      for (const auto& result : evaluate_questions(policy_, share, settings))
        correct += result.greedy && result.greedy->correct;
      auto totals = group_.all_reduce_sum({correct, static_cast<double>(share.size())});
      line["eval/" + benchmark.name + "/greedy_pass1"] =
          totals[1] > 0 ? totals[0] / totals[1] : 0.0;
    }
    if (!group_.is_main()) return;
    append_metrics(line);
    if (progress_) progress_->finish();
    if (!hooks.quiet) std::cerr << line.dump() << "\n";
  }

  void append_metrics(const io::Json& line) {
    if (tensorboard_) tensorboard_->add_scalars(line.value("step", 0L), line);
    metrics_log_.append(line);
  }

  generate::GenerationConfig generation_config() {
    generate::GenerationConfig generation;
    generation.max_new_tokens = config_.max_completion_length;
    generation.num_samples = config_.num_generations;
    // Every row of the rollout batch may be live; the engine admits them while their
    // keys/values fit its share of free memory (empo plan predicts the same).
    generation.prompts_per_batch = std::max(1, config_.per_device_train_batch_size);
    generation.kv_budget_bytes =
        generate::kv_budget_bytes(device_, config_.rollout_memory_fraction);
    generation.cuda_graphs = config_.rollout_cuda_graphs;
    generation.session = &decode_session_;
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
      bool truncated = false;
      group.prompt = generate::build_prompt(policy_, prompt_settings_, questions[i], &truncated);
      truncated_prompts_ += truncated;
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
    std::vector<std::vector<double>> token_signals;
    for (size_t q = 0; q < groups.size(); ++q) {
      auto& group = groups[q];
      group.samples.assign(completions.samples.begin() + q * G,
                           completions.samples.begin() + (q + 1) * G);
      group.texts.assign(completions.texts.begin() + q * G,
                         completions.texts.begin() + (q + 1) * G);
      token_signals.push_back(token_signal(group));
    }
    // All groups at once: the judge sends each clustering round of the batch as one batch.
    score_rollout_groups(groups, reward_settings_, token_signals, equivalence_,
                         config_.entropy_band);
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
      samples.push_back(make_train_sample(group.prompt, sample, 0));
    auto batch = pack(sample_rows(samples, 0, samples.size()), false, device_);
    auto hidden = completion_hidden(policy_.model, batch);
    auto statistics = model::token_statistics(hidden, policy_.model.weights.lm_head, batch.targets,
                                              std::max(config_.temperature, 1e-6));
    auto values = config_.reward == RewardType::self_certainty ? statistics.self_certainty
                                                               : statistics.entropy;
    auto per_row =  // (G)
        ((values.view({-1, batch.K}) * batch.mask).sum(1) / batch.mask.sum(1).clamp_min(1))
            .to(at::kCPU, at::kDouble)
            .contiguous();
    return std::vector<double>(per_row.data_ptr<double>(),
                               per_row.data_ptr<double>() + per_row.numel());
  }

  // The unbiased std of all ranks' rewards together (scale_rewards = batch).
  double global_std(const std::vector<double>& rewards) const {
    double sum = 0, squares = 0;
    for (double reward : rewards) {
      sum += reward;
      squares += reward * reward;
    }
    auto totals = group_.all_reduce_sum({sum, squares, static_cast<double>(rewards.size())});
    return pooled_std(totals[0], totals[1], totals[2]);
  }

  RolloutSums reduce(RolloutSums sums) const {
    sums.sums = group_.all_reduce_sum(sums.sums);
    sums.shortest = group_.all_reduce_min(sums.shortest);
    sums.longest = group_.all_reduce_max(sums.longest);
    return sums;
  }

  void rollout_and_update(const TrainHooks& hooks) {
    time_generate_ = time_reward_ = 0;
    truncated_prompts_ = 0;
    const size_t per_step = static_cast<size_t>(config_.per_device_train_batch_size) *
                            config_.gradient_accumulation_steps;
    // Questions per rollout batch over all processes (the batch size is per process).
    const size_t wanted = per_step * config_.steps_per_generation * group_.world_size();
    auto rollout = collect_rollout(
        wanted, config_, [this](size_t count) { return draw_groups(count); },
        [this](size_t local) {
          return static_cast<size_t>(group_.all_reduce_sum({static_cast<double>(local)})[0]);
        });
    RolloutSums sums = rollout_sums(rollout.drawn);
    // Rank 0 alone tracks its questions' majority answers, so a resumed run, whose checkpoint
    // holds rank 0's record, counts exactly as an unbroken one.
    if (group_.is_main()) {
      const FlipCount flips = answer_flips_.observe(rollout.drawn, equivalence_);
      sums.sums[RolloutSums::kFlipped] = flips.flipped;
      sums.sums[RolloutSums::kRevisited] = flips.revisited;
    }
    io::Json rollout_line = rollout_metrics(reduce(sums), config_.num_generations);
    rollout_line["resampled_groups"] = static_cast<double>(rollout.resampled_groups);
    rollout_line["data/truncated_prompts"] =
        group_.all_reduce_sum({static_cast<double>(truncated_prompts_)})[0];
    if (config_.skip_bad_lines)
      rollout_line["data/skipped_lines"] = static_cast<double>(skipped_lines_.size());

    auto train_start = Clock::now();
    const auto& kept = rollout.kept;
    std::vector<double> rewards;
    for (const auto& group : kept)
      rewards.insert(rewards.end(), group.score.rewards.begin(), group.score.rewards.end());
    const int G = config_.num_generations;
    auto advantages = compute_advantages(rewards, G, config_.scale_rewards, global_std(rewards));
    log_completions(rollout.drawn, advantages.values, state_.step + 1);
    std::vector<TrainSample> samples;
    for (size_t q = 0; q < kept.size(); ++q)
      for (int j = 0; j < G; ++j)
        samples.push_back(
            make_train_sample(kept[q].prompt, kept[q].samples[j], advantages.values[q * G + j]));
    const auto plan = plan_updates(
        kept.size(), {static_cast<size_t>(G), static_cast<size_t>(config_.steps_per_generation),
                      static_cast<size_t>(config_.gradient_accumulation_steps), micro_batch_size_});
    const double temperature = sampling_temperature();
    if (needs_old_logprobs(config_))
      store_logprobs(samples, &TrainSample::old_logprobs, policy_.model, temperature,
                     micro_batch_size_, device_);
    if (needs_reference())
      store_logprobs(samples, &TrainSample::ref_logprobs, *reference_, temperature,
                     micro_batch_size_, device_);
    double train_seconds = seconds_since(train_start);
    double first_kl = 0;  // the rollout policy's KL to the start, before this batch's updates
    bool first_step = true;
    for (int iteration = 0; iteration < config_.num_iterations; ++iteration) {
      for (const auto& step : plan) {
        if (state_.step >= total_steps_ || (!first_step && stop_agreed())) break;
        auto step_start = Clock::now();
        io::Json metrics = rollout_line;
        optimizer_step(samples, step, metrics);
        if (first_step) first_kl = metrics["kl"].get<double>();
        first_step = false;
        metrics["time/generate"] = time_generate_;
        metrics["time/reward"] = time_reward_;
        metrics["time/train"] = train_seconds + seconds_since(step_start);
        train_seconds = 0;
        time_generate_ = time_reward_ = 0;
        log_step(metrics, hooks);
        if (state_.nonfinite_in_row >= config_.max_nonfinite_steps)
          throw std::runtime_error(
              std::to_string(state_.nonfinite_in_row) +
              " optimizer steps in a row had a non-finite loss or gradient norm (last: step " +
              std::to_string(state_.step) + "); stopping with the last checkpoint intact");
      }
    }
    check_guard(rollout_line, first_kl);
  }

  double sampling_temperature() const {
    return config_.temperature > 0 ? config_.temperature : 1.0;
  }

  void optimizer_step(const std::vector<TrainSample>& samples, const StepPlan& step,
                      io::Json& metrics) {
    const double lr = scheduled_lr(config_.learning_rate, config_.lr_scheduler_type, warmup_steps_,
                                   total_steps_, state_.step);
    // Counts over every rank: one normaliser for all processes keeps the summed gradient
    // equal to the single-process one (bnpo's per-process normaliser excepted, as in TRL).
    const StepCounts local = count_step(samples, step, config_.mask_truncated_completions);
    StepCounts global = local;
    auto reduced = group_.all_reduce_sum({local.tokens, local.sequences});
    global.tokens = reduced[0];
    global.sequences = reduced[1];
    const LossSettings settings = loss_settings(config_);
    const bool with_old = needs_old_logprobs(config_);
    // Sums kept on the device: one host read per step.
    auto options = at::TensorOptions().dtype(at::kDouble).device(device_);
    at::Tensor loss_total = at::zeros({}, options);
    at::Tensor statistics = at::zeros({kLossStatistics}, options);
    at::Tensor entropy_total = at::zeros({}, options);
    at::Tensor correction_total = at::zeros({kCorrectionStatistics}, options);
    const CorrectionSettings correction_settings_of_step = correction_settings(config_);
    bool any_gradient = false;
    model::LoraAdapters* lora = policy_.model.lora.get();
    if (lora) lora->dropout_active = true;
    // zero_stage 2 reduces each micro-batch's gradient to the ranks owning it: every rank takes
    // part as often as the rank with the most micro-batches (the others add zeros).
    const bool reduce_each = optimizer_->reduces_every_micro_batch();
    const size_t reductions = reduce_each ? static_cast<size_t>(group_.all_reduce_max(
                                                static_cast<double>(step.micro_batches.size())))
                                          : 0;
    for (size_t micro_index = 0; micro_index < step.micro_batches.size(); ++micro_index) {
      const auto& micro = step.micro_batches[micro_index];
      // lora_dropout masks: a stream per (seed, step, micro-batch), the same after a resume.
      if (lora)
        lora->dropout_seed =
            generate::mix_seed(generate::mix_seed(config_.seed, state_.step), micro_index);
      auto rows = sample_rows(samples, micro.first, micro.last);
      auto batch = pack(rows, config_.mask_truncated_completions, device_);
      auto hidden = completion_hidden(policy_.model, batch);
      auto scored = model::token_logprobs_and_entropy(hidden, policy_.model.weights.lm_head,
                                                      batch.targets, sampling_temperature());
      PolicyLossInputs inputs;
      inputs.logprobs = scored.logprobs.view({-1, batch.K});  // (n, K)
      inputs.old_logprobs = with_old
                                ? stack_rows(rows, &TrainSample::old_logprobs, batch.K, device_)
                                : inputs.logprobs.detach();
      if (needs_reference())
        inputs.ref_logprobs = stack_rows(rows, &TrainSample::ref_logprobs, batch.K, device_);
      auto correction = rollout_correction(
          inputs.old_logprobs, stack_rows(rows, &TrainSample::sampling_logprobs, batch.K, device_),
          batch.mask, correction_settings_of_step);
      inputs.importance_weights = correction.weights;
      correction_total += correction.statistics;
      std::vector<float> advantages;
      for (const auto* sample : rows) advantages.push_back(static_cast<float>(sample->advantage));
      inputs.advantages = model::to_device(at::tensor(advantages), device_);
      inputs.mask = batch.mask;
      auto result =
          policy_loss(inputs, settings,
                      loss_normalizers(config_, global, local, micro.chunk, group_.world_size()));
      if (result.loss.requires_grad()) {
        result.loss.backward();
        if (!reduce_each) accumulator_.add_micro_batch();
        any_gradient = true;
      }
      if (reduce_each) optimizer_->reduce_micro_batch();
      loss_total += result.loss.detach().to(at::kDouble);
      statistics += result.statistics;
      entropy_total +=
          (scored.entropy.detach().view({-1, batch.K}) * batch.mask).sum().to(at::kDouble);
    }
    if (lora) lora->dropout_active = false;
    for (size_t extra = step.micro_batches.size(); extra < reductions; ++extra)
      optimizer_->reduce_micro_batch();
    auto device_sums = read_statistics(at::cat(
        {loss_total.unsqueeze(0), statistics, entropy_total.unsqueeze(0), correction_total}));
    const size_t tokens_index = device_sums.size();
    double tokens = 0;
    for (size_t i = step.first; i < step.last; ++i)
      tokens += samples[i].prompt->size() + samples[i].completion.size();
    device_sums.push_back(tokens);
    device_sums.push_back(any_gradient ? 1.0 : 0.0);
    auto sums = group_.all_reduce_sum(device_sums);
    const double loss = sums[0];
    const double clipped_low = sums[1 + kClippedLow], clipped_high = sums[1 + kClippedHigh];
    const double clip_counted = sums[1 + kClipCounted], kl_sum = sums[1 + kKlSum];
    const double counted = sums[1 + kCounted], entropy_sum = sums[1 + kLossStatistics];
    const double* correction_sums = &sums[2 + kLossStatistics];
    tokens = sums[tokens_index];
    const bool gradient_everywhere = sums[tokens_index + 1] > 0;
    UpdateOutcome outcome;
    if (gradient_everywhere) {
      accumulator_.finish();
      outcome = optimizer_->step(loss, config_.max_grad_norm, lr);
      if (!outcome.applied) {
        ++state_.skipped_steps;
        ++state_.nonfinite_in_row;
        if (group_.is_main())
          std::cerr << "\nempo: step " << state_.step + 1 << ": loss " << loss << ", gradient norm "
                    << outcome.grad_norm << " not finite; update skipped ("
                    << state_.nonfinite_in_row << " in a row, limit max_nonfinite_steps "
                    << config_.max_nonfinite_steps << ")\n";
      } else {
        state_.nonfinite_in_row = 0;
      }
    } else {
      optimizer_->zero_grad();
    }
    ++state_.step;
    state_.num_tokens += static_cast<int64_t>(tokens);
    auto ratio = [](double numerator, double denominator) {
      return denominator > 0 ? numerator / denominator : 0.0;
    };
    metrics["step"] = state_.step;
    metrics["epoch"] = source_.cursor().epochs_done();
    // JSON has no NaN: a skipped step's non-finite values are written as null.
    metrics["loss"] = finite_or_null(loss);
    metrics["grad_norm"] = finite_or_null(outcome.grad_norm);
    metrics["skipped_steps"] = state_.skipped_steps;
    metrics["learning_rate"] = lr;
    metrics["num_tokens"] = state_.num_tokens;
    metrics["entropy"] = ratio(entropy_sum, counted);
    metrics["clip_ratio/low_mean"] = ratio(clipped_low, clip_counted);
    metrics["clip_ratio/high_mean"] = ratio(clipped_high, clip_counted);
    metrics["kl"] = ratio(kl_sum, counted);
    metrics["sampling/sampling_logp_difference/mean"] =
        ratio(correction_sums[kAbsLogprobDifference], counted);
    metrics["sampling/importance_sampling_ratio/capped_fraction"] =
        ratio(correction_sums[kCappedUnits], correction_sums[kCorrectionUnits]);
    metrics["train_samples"] = global.sequences;
  }

  // The collapse guard's stop rule: semantic entropy collapsed while the reward saturates,
  // for guard_patience rollouts in a row. Needs no labels.
  void check_guard(const io::Json& rollout, double kl) {
    if (config_.guard_max_kl > 0.0 && kl > config_.guard_max_kl) {
      state_.stopped_by_guard = true;
      if (progress_) progress_->finish();
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
      if (progress_) progress_->finish();
      std::cerr << "empo: collapse guard: normalised semantic entropy < "
                << config_.guard_entropy_floor << " while reward > " << config_.guard_reward_ceiling
                << " for " << config_.guard_patience << " rollouts; stopping at step "
                << state_.step << "\n";
    }
  }

  // RUN_DIR/completions.jsonl (rank 0, its own questions): the first num_completions_to_print
  // drawn questions of the rollout that `step` trains on, with the advantages the update uses
  // (0 for a question the filters kept out).
  void log_completions(const std::vector<Group>& drawn, const std::vector<double>& advantages,
                       long step) const {
    if (!group_.is_main() || !config_.log_completions ||
        !(step % config_.logging_steps == 0 || step == total_steps_))
      return;
    const size_t G = static_cast<size_t>(config_.num_generations);
    const size_t count = config_.num_completions_to_print > 0
                             ? std::min<size_t>(drawn.size(), config_.num_completions_to_print)
                             : drawn.size();
    size_t kept = 0;  // rollout.kept starts with drawn's trainable groups, in order
    for (size_t q = 0; q < count; ++q) {
      const Group& group = drawn[q];
      log::QuestionCompletions entry{step,
                                     group.question.text,
                                     group.texts,
                                     group.score.answers,
                                     group.score.clustering.cluster_ids,
                                     group.score.rewards,
                                     std::vector<double>(G, 0.0),
                                     golden_answers(group.question, reward_settings_.answer),
                                     group.score.correct};
      if (trainable(group, config_))
        std::copy_n(advantages.begin() + (kept++) * G, G, entry.advantages.begin());
      completions_log_.write(entry);
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
    if (state_.step % config_.logging_steps == 0 || state_.step == total_steps_ ||
        state_.nonfinite_in_row > 0)
      append_metrics(metrics);
    if (progress_) progress_->update(state_.step, log::training_fields(metrics));
    if (hooks.on_step) hooks.on_step(state_.step, metrics);
  }

  void write_checkpoint_files(const std::string& folder) {
    const auto file_dtype = policy_.model.weights.embed_tokens.scalar_type();
    if (policy_.model.lora)  // a PEFT adapter folder: PeftModel.from_pretrained(base, folder)
      model::save_lora_adapter(*policy_.model.lora, folder, config_.model_name_or_path, file_dtype);
    else
      model::save_model(policy_.model, folder, file_dtype);
    io::write_model_side_files(side_files_, folder);
    if (optimizer_->stage() == 0) optimizer_->save(folder);
    // Sharded stages: every rank wrote its shard into shard_folder(); they join the checkpoint.
    if (optimizer_->stage() > 0)
      for (const auto& entry : fs::directory_iterator(shard_folder()))
        fs::rename(entry.path(), fs::path(folder) / entry.path().filename());
    io::Json state{{"step", state_.step},
                   {"questions_drawn", state_.questions_drawn},
                   {"num_tokens", state_.num_tokens},
                   {"guard_strikes", state_.guard_strikes},
                   {"skipped_steps", state_.skipped_steps},
                   {"cursor", source_.cursor().state().to_json()},
                   {"total_steps", total_steps_},
                   {"world_size", group_.world_size()},
                   {"global_batch_size", global_batch_size(group_.world_size())},
                   {"answer_flips", answer_flips_.to_json()}};
    io::write_file_atomic((fs::path(folder) / kTrainerState).string(), state.dump(2) + "\n");
  }

  // Where the ranks write their optimizer shards before rank 0 moves them into the checkpoint
  // it publishes; a staging name (checkpoint-<N>.tmp-*), so a crash leaves nothing that counts.
  std::string shard_folder() const {
    return (fs::path(run_dir_) / (io::CheckpointStore::folder_name(state_.step) + ".tmp-shards"))
        .string();
  }

  // Questions per optimizer step over all ranks: a run resumes on another number of processes
  // only with the same global batch (per_device_train_batch_size scaled to match).
  long global_batch_size(int world_size) const {
    return static_cast<long>(config_.per_device_train_batch_size) *
           config_.gradient_accumulation_steps * world_size;
  }

  // Every rank holds the same weights; rank 0 writes them, and with a sharded optimizer every
  // rank first writes its shard. A failed write (a full disk) is reported to every rank, so
  // none waits at a collective for it.
  std::string save_checkpoint() {
    std::exception_ptr failure;
    if (optimizer_->stage() > 0) {
      try {
        fs::create_directories(shard_folder());
        optimizer_->save(shard_folder());
      } catch (...) {
        failure = std::current_exception();
      }
      if (group_.all_reduce_max(failure ? 1.0 : 0.0) > 0.0) {
        if (failure) std::rethrow_exception(failure);
        throw std::runtime_error("a rank could not write its optimizer shard (see its error)");
      }
    }
    if (group_.is_main()) {
      try {
        store_.save(state_.step,
                    [this](const std::string& folder) { write_checkpoint_files(folder); });
        if (optimizer_->stage() > 0) fs::remove_all(shard_folder());
      } catch (...) {
        failure = std::current_exception();
      }
    }
    const bool failed = group_.all_reduce_max(failure ? 1.0 : 0.0) > 0.0;
    if (failure) std::rethrow_exception(failure);
    if (failed) throw std::runtime_error("rank 0 could not write the checkpoint (see its error)");
    return (fs::path(run_dir_) / io::CheckpointStore::folder_name(state_.step)).string();
  }

  TrainConfig config_;
  dist::Group group_;
  std::string run_dir_;
  io::CheckpointStore store_;
  log::MetricsLog metrics_log_;          // rank 0 writes it
  log::CompletionsLog completions_log_;  // rank 0: RUN_DIR/completions.jsonl
  at::Device device_;
  at::ScalarType dtype_;
  std::vector<data::SkippedLine> skipped_lines_;  // train_file lines skipped (skip_bad_lines)
  data::PromptSource source_;
  SideFiles side_files_;  // written into every checkpoint
  generate::Policy policy_;
  // rollout_cuda_graphs: the KV pool and decode graphs over policy_ kept from one rollout (or
  // evaluation) to the next; destroyed before policy_.
  generate::DecodeSession decode_session_;
  AnswerFlips answer_flips_;  // rank 0: its questions' last majority answers (empo/flip_rate)
  std::unique_ptr<generate::Policy> judge_;
  AnswerEquivalence equivalence_;
  std::optional<model::Model> reference_;
  std::vector<at::Tensor> parameters_;
  std::unique_ptr<ZeroOptimizer> optimizer_;
  GradAccumulator accumulator_;  // float32 sums of bf16 gradients across micro-batches
  RewardSettings reward_settings_;
  generate::PromptSettings prompt_settings_;
  std::size_t micro_batch_size_ = 0;  // resolved from micro_batch_size (update_micro_batch_size)
  long total_steps_ = 0;
  long warmup_steps_ = 0;
  RunState state_;
  std::unique_ptr<log::TensorBoardWriter> tensorboard_;  // rank 0: RUN_DIR/tensorboard
  std::unique_ptr<log::ProgressMeter> progress_;         // rank 0 unless hooks.quiet
  std::vector<eval::Benchmark> benchmarks_;              // eval_files
  double time_generate_ = 0;
  double time_reward_ = 0;
  long truncated_prompts_ = 0;  // in this rollout batch, on this rank
};

// An output_dir that cannot be written fails before any model is loaded, naming the folder.
void require_writable_run_dir(const std::string& run_dir) {
  try {
    io::require_writable_folder(run_dir);
  } catch (const InputError& error) {
    throw InputError(std::string("output_dir: ") + error.what());
  }
}

// The process group of torchrun's variables; NCCL joins it for CUDA devices where compiled in.
// The rank's GPU (LOCAL_RANK for a bare "cuda") becomes the current device first.
dist::Group process_group(const TrainConfig& config) {
  const auto device = dist::use_rank_device(model::parse_device(config.device));
  return dist::Group::from_environment(device.is_cuda());
}

}  // namespace

int guard_strikes_after(int strikes, double normalized_entropy, double mean_reward,
                        const TrainConfig& config) {
  const bool collapsed =
      normalized_entropy < config.guard_entropy_floor && mean_reward > config.guard_reward_ceiling;
  return collapsed ? strikes + 1 : 0;
}

std::string latest_checkpoint(const std::string& run_dir) {
  return io::CheckpointStore(run_dir, kTrainerState).latest();
}

TrainResult train(const TrainConfig& config, const TrainHooks& hooks) {
  validate(config);
  auto group = process_group(config);
  if (group.is_main()) require_writable_run_dir(config.output_dir);
  model::init_runtime();
  Run run(config, config.model_name_or_path, /*resuming=*/false, std::move(group));
  return run.run(hooks);
}

TrainResult resume(const std::string& run_dir, const std::vector<std::string>& overrides,
                   const TrainHooks& hooks) {
  auto config = load_config((fs::path(run_dir) / "config.yaml").string(), overrides);
  config.output_dir = run_dir;
  auto group = process_group(config);
  if (group.is_main()) {
    require_writable_run_dir(run_dir);
    // A crash while a checkpoint was being replaced leaves it under its aside name.
    io::CheckpointStore(run_dir, kTrainerState).clean_incomplete();
  }
  group.barrier();
  auto checkpoint = latest_checkpoint(run_dir);
  if (checkpoint.empty()) throw InputError(run_dir + ": no checkpoint to resume from");
  model::init_runtime();
  Run run(config, checkpoint, /*resuming=*/true, std::move(group));
  run.restore(checkpoint);
  return run.run(hooks);
}

}  // namespace empo::rl
