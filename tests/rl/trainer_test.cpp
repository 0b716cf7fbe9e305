#include "empo/rl/trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "empo/data/synthetic.h"
#include "empo/io/error.h"
#include "empo/model/weights.h"
#include "empo/text/tokenizer_writer.h"
#include "test_support.h"

namespace empo::rl {

namespace fs = std::filesystem;

namespace {

// qwen2-tiny (random HF weights) with a character tokenizer, and addition questions.
struct Workspace {
  std::string dir = test::temp_dir("trainer");
  std::string model = dir + "/model";
  std::string train_file = dir + "/train.jsonl";

  Workspace() {
    fs::create_directories(model);
    for (const char* name : {"config.json", "model.safetensors"})
      fs::copy_file(test::fixture(std::string("qwen2-tiny/") + name), model + "/" + name);
    text::write_char_tokenizer(model, text::CharVocabulary{});
    data::AdditionTask task;
    data::write_addition_jsonl(train_file,
                               data::generate_addition_split(task, data::Split::train, 12, 3));
  }

  // `extra` must set max_steps (and save_steps when checkpoints matter).
  std::string yaml(const std::string& run, const std::string& extra) const {
    return "model_name_or_path: " + model + "\ntrain_file: " + train_file + "\noutput_dir: " + dir +
           "/" + run +
           "\nchat_format: raw\nsystem_prompt: \"\"\nquestion_template: \"{question}\"\n"
           "answer_extraction: hash_dollar\nequivalence: exact\nnum_generations: 4\n"
           "per_device_train_batch_size: 2\nmax_completion_length: 10\nmax_prompt_length: 32\n"
           "temperature: 1.0\nlearning_rate: 0.001\n"
           "device: cpu\ndtype: float32\nseed: 5\n" +
           extra;
  }
};

std::vector<io::Json> read_metrics(const std::string& run_dir) {
  std::vector<io::Json> lines;
  io::for_each_jsonl(run_dir + "/metrics.jsonl",
                     [&](const io::Json& line, long) { lines.push_back(line); });
  return lines;
}

TrainHooks quiet() {
  TrainHooks hooks;
  hooks.quiet = true;
  return hooks;
}

// Trains the workspace config `run` with `extra` YAML and `overrides`; its metrics lines.
std::vector<io::Json> train_and_read(const Workspace& workspace, const std::string& run,
                                     const std::string& extra,
                                     const std::vector<std::string>& overrides = {}) {
  auto config = parse_config(workspace.yaml(run, extra), "test", overrides);
  train(config, quiet());
  return read_metrics(config.output_dir);
}

}  // namespace

TEST(Trainer, LossFallsOverIterationsOnOneRolloutAndMetricsAreLogged) {
  Workspace workspace;
  // A continuous reward (token entropy) so every group has non-zero advantages; four passes
  // over one rollout batch: the clipped surrogate must fall as the policy moves.
  auto config = parse_config(
      workspace.yaml("iterations",
                     "reward: token_entropy\nnum_iterations: 4\nmax_steps: 4\nsave_steps: 2\n"),
      "test");
  auto result = train(config, quiet());
  EXPECT_EQ(result.steps, 4);
  auto metrics = read_metrics(config.output_dir);
  ASSERT_EQ(metrics.size(), 4u);
  EXPECT_LT(metrics[3]["loss"].get<double>(), metrics[0]["loss"].get<double>());
  EXPECT_GT(metrics[1]["clip_ratio/low_mean"].get<double>() +
                metrics[1]["clip_ratio/high_mean"].get<double>() +
                std::abs(metrics[1]["loss"].get<double>()),
            0.0);
  for (const char* key : {"reward",
                          "reward_std",
                          "frac_reward_zero_std",
                          "completions/mean_length",
                          "completions/min_length",
                          "completions/max_length",
                          "completions/clipped_ratio",
                          "entropy",
                          "kl",
                          "clip_ratio/low_mean",
                          "clip_ratio/high_mean",
                          "grad_norm",
                          "learning_rate",
                          "num_tokens",
                          "empo/semantic_entropy",
                          "empo/num_clusters",
                          "empo/filtered_low",
                          "empo/filtered_high",
                          "monitor/accuracy",
                          "monitor/majority_accuracy",
                          "time/generate",
                          "time/reward",
                          "time/train",
                          "tokens_per_second"})
    EXPECT_TRUE(metrics[0].contains(key)) << key;
  // Checkpoints are taken between rollout batches: the four updates of one rollout end in
  // checkpoint-4. They are loadable Hugging Face folders.
  EXPECT_FALSE(fs::exists(config.output_dir + "/checkpoint-2"));
  auto checkpoint = latest_checkpoint(config.output_dir);
  EXPECT_EQ(fs::path(checkpoint).filename(), "checkpoint-4");
  for (const char* name :
       {"config.json", "model.safetensors", "tokenizer.json", "generation_config.json"})
    EXPECT_TRUE(fs::exists(checkpoint + "/" + name)) << name;
  auto trained = model::load_model(checkpoint);
  auto start = model::load_model(workspace.model);
  EXPECT_FALSE(trained.weights.norm.equal(start.weights.norm));
  EXPECT_TRUE(fs::exists(config.output_dir + "/config.yaml"));
  // The same scalars go to a TensorBoard event file.
  ASSERT_TRUE(fs::is_directory(config.output_dir + "/tensorboard"));
  auto events = fs::directory_iterator(config.output_dir + "/tensorboard")->path().string();
  EXPECT_NE(test::read_text(events).find("empo/semantic_entropy"), std::string::npos);
}

TEST(Trainer, ResumeContinuesBitForBit) {
  Workspace workspace;
  const std::string extra = "reward: token_entropy\nbeta: 0.05\nmax_steps: 4\nsave_steps: 2\n";
  auto straight = parse_config(workspace.yaml("straight", extra), "test");
  train(straight, quiet());
  auto halves = parse_config(workspace.yaml("halves", extra), "test", {"max_steps=2"});
  train(halves, quiet());
  resume(halves.output_dir, {"max_steps=4"}, quiet());
  auto a = test::read_text(straight.output_dir + "/checkpoint-4/model.safetensors");
  auto b = test::read_text(halves.output_dir + "/checkpoint-4/model.safetensors");
  ASSERT_FALSE(a.empty());
  EXPECT_TRUE(a == b) << "weights differ after resume";
  EXPECT_EQ(test::read_text(straight.output_dir + "/checkpoint-4/optimizer.safetensors"),
            test::read_text(halves.output_dir + "/checkpoint-4/optimizer.safetensors"));
  auto metrics = read_metrics(halves.output_dir);
  ASSERT_EQ(metrics.size(), 4u);
  EXPECT_EQ(metrics[3]["step"], 4);
}

TEST(Trainer, GradientCheckpointingTrainsLikeWithout) {
  Workspace workspace;
  const std::string extra = "max_steps: 2\nsave_steps: 0\nmicro_batch_size: 3\n";
  auto plain = parse_config(workspace.yaml("plain", extra), "test");
  auto checkpointed =
      parse_config(workspace.yaml("checkpointed", extra), "test", {"gradient_checkpointing=true"});
  train(plain, quiet());
  train(checkpointed, quiet());
  auto a = model::load_tensor_file(plain.output_dir + "/checkpoint-2/model.safetensors");
  auto b = model::load_tensor_file(checkpointed.output_dir + "/checkpoint-2/model.safetensors");
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, tensor] : a)
    EXPECT_LE((tensor - b.at(name)).abs().max().item<double>(), 1e-5) << name;
  auto metrics_a = read_metrics(plain.output_dir),
       metrics_b = read_metrics(checkpointed.output_dir);
  ASSERT_EQ(metrics_a.size(), 2u);
  ASSERT_EQ(metrics_b.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_NEAR(metrics_b[i]["loss"].get<double>(), metrics_a[i]["loss"].get<double>(), 1e-5);
    EXPECT_NEAR(metrics_b[i]["grad_norm"].get<double>(), metrics_a[i]["grad_norm"].get<double>(),
                1e-5);
  }
}

TEST(Trainer, EveryRewardAndLossRuns) {
  Workspace workspace;
  const std::vector<std::string> variants = {
      "reward: empo\nloss_type: dapo\n",
      "reward: ttrl\nloss_type: bnpo\ngradient_accumulation_steps: 2\nmicro_batch_size: 3\n",
      "reward: supervised\nloss_type: dr_grpo\nmask_truncated_completions: true\n",
      "reward: self_certainty\nloss_type: gspo\nepsilon: 0.0003\nepsilon_high: 0.0004\n",
      "reward: token_entropy\nscale_rewards: batch\ndynamic_sampling: true\nentropy_band: [0.0, "
      "0.99]\n",
  };
  int index = 0;
  for (const auto& variant : variants) {
    auto config = parse_config(
        workspace.yaml("variant" + std::to_string(index++), variant + "max_steps: 1\n"), "test");
    auto result = train(config, quiet());
    EXPECT_EQ(result.steps, 1) << variant;
    auto metrics = read_metrics(config.output_dir);
    ASSERT_EQ(metrics.size(), 1u) << variant;
    EXPECT_TRUE(std::isfinite(metrics[0]["loss"].get<double>())) << variant;
  }
}

TEST(Trainer, EntropyBandCountsWhatEachBoundRemoved) {
  Workspace workspace;
  // An all-distinct or all-empty group has H / log G of 1 or ... the band [0.2, 0.3] removes
  // nearly everything from one side or the other, and the two fractions say which.
  auto config =
      parse_config(workspace.yaml("band", "entropy_band: [0.2, 0.3]\nmax_steps: 1\n"), "test");
  train(config, quiet());
  auto metrics = read_metrics(config.output_dir);
  const double low = metrics[0]["empo/filtered_low"], high = metrics[0]["empo/filtered_high"];
  EXPECT_GT(low + high, 0.0);
  EXPECT_LE(low + high, 1.0);
}

TEST(Trainer, RefusesToOverwriteCheckpoints) {
  Workspace workspace;
  auto config =
      parse_config(workspace.yaml("once", "max_steps: 2\nreward: token_entropy\n"), "test");
  train(config, quiet());
  EXPECT_THROW(train(config, quiet()), InputError);
  config.overwrite_output_dir = true;
  EXPECT_NO_THROW(train(config, quiet()));
}

TEST(Trainer, EvaluatesEvalFilesAtCheckpoints) {
  Workspace workspace;
  auto config = parse_config(
      workspace.yaml("evals", "reward: token_entropy\nmax_steps: 2\nsave_steps: 1\neval_files: [" +
                                  workspace.train_file + "]\n"),
      "test");
  train(config, quiet());
  auto metrics = read_metrics(config.output_dir);
  int evaluations = 0;
  for (const auto& line : metrics)
    if (line.contains("eval/train/greedy_pass1")) {
      ++evaluations;
      EXPECT_GE(line["eval/train/greedy_pass1"].get<double>(), 0.0);
    }
  EXPECT_EQ(evaluations, 2);
}

TEST(CollapseGuard, FiresOnAConstructedCollapseOnly) {
  TrainConfig config;
  config.guard_entropy_floor = 0.05;
  config.guard_reward_ceiling = 0.95;
  config.guard_patience = 3;
  // Healthy training: entropy falls, reward rises, no strike.
  int strikes = 0;
  for (auto [entropy, reward] : {std::pair{0.8, 0.3}, {0.5, 0.6}, {0.2, 0.85}}) {
    strikes = guard_strikes_after(strikes, entropy, reward, config);
    EXPECT_EQ(strikes, 0);
  }
  // Collapse: every group agrees on one answer (H -> 0) while reward saturates (-> 1).
  strikes = guard_strikes_after(strikes, 0.03, 0.97, config);
  strikes = guard_strikes_after(strikes, 0.01, 0.99, config);
  EXPECT_EQ(strikes, 2);
  // One diverse rollout resets the count: the rule wants consecutive collapsed rollouts.
  EXPECT_EQ(guard_strikes_after(strikes, 0.3, 0.99, config), 0);
  strikes = guard_strikes_after(strikes, 0.0, 1.0, config);
  EXPECT_GE(strikes, config.guard_patience);
}

}  // namespace empo::rl

namespace empo::rl {

TEST(CollapseGuard, KlBudgetStopsTraining) {
  Workspace workspace;
  // A large learning rate moves the policy away from its start at once; a tiny KL budget
  // (measured against the starting model, with beta = 0) must end the run early.
  auto config = parse_config(
      workspace.yaml(
          "kl", "reward: token_entropy\nguard_max_kl: 0.000001\nmax_steps: 8\nsave_steps: 0\n"),
      "test", {"learning_rate=0.05"});
  auto result = train(config, quiet());
  EXPECT_TRUE(result.stopped_by_guard);
  EXPECT_LT(result.steps, 8);
  auto metrics = read_metrics(config.output_dir);
  EXPECT_GT(metrics.back()["kl"].get<double>(), 0.0);
}

}  // namespace empo::rl

namespace empo::rl {

TEST(Trainer, AuthorsRecipeRunsOnAQwenShapedModel) {
  // The researcher's path at toy size: configs/qwen2.5-math-7b-empo.yaml (ChatML prompts with
  // the authors' system prompt, \boxed{} answers, math equivalence) on a random model with
  // Qwen's real tokenizer and vocabulary, trained on verl-format questions (AIME24).
  auto dir = test::temp_dir("qwen_recipe");
  model::ModelConfig shape;
  shape.raw = {{"model_type", "qwen2"},    {"vocab_size", 151936},
               {"hidden_size", 32},        {"intermediate_size", 64},
               {"num_hidden_layers", 1},   {"num_attention_heads", 2},
               {"num_key_value_heads", 1}, {"tie_word_embeddings", true},
               {"rope_theta", 1e6},        {"eos_token_id", 151643}};
  shape = model::parse_model_config(shape.raw, "test");
  model::save_model(model::random_model(shape, 3), dir + "/model", at::kFloat);
  for (const char* name : {"tokenizer.json", "tokenizer_config.json"})
    fs::copy_file(test::fixture(std::string("qwen-tokenizer/") + name), dir + "/model/" + name);
  const std::string jinja = test::fixture("text/chat_templates/qwen2.5-math-instruct.jinja");
  fs::copy_file(jinja, dir + "/model/chat_template.jinja");
  auto config = load_config(
      test::source_path("configs/qwen2.5-math-7b-empo.yaml"),
      {"model_name_or_path=" + dir + "/model",
       "train_file=" + test::source_path("data/benchmarks/aime24.jsonl"), "eval_files=[]",
       "output_dir=" + dir + "/run", "dtype=float32", "device=cpu", "max_steps=1",
       "max_completion_length=6", "per_device_train_batch_size=2", "num_generations=2",
       "micro_batch_size=2", "save_steps=1", "max_prompt_length=1024"});
  auto result = train(config, quiet());
  EXPECT_EQ(result.steps, 1);
  auto metrics = read_metrics(config.output_dir);
  ASSERT_EQ(metrics.size(), 1u);
  EXPECT_TRUE(metrics[0].contains("monitor/accuracy"));  // AIME answers are monitored, not used
  EXPECT_TRUE(fs::exists(result.last_checkpoint + "/tokenizer_config.json"));
  // The checkpoint renders the prompts the model did: its chat template comes along.
  EXPECT_EQ(test::read_text(result.last_checkpoint + "/chat_template.jinja"),
            test::read_text(jinja));
  EXPECT_EQ(model::load_model_config(result.last_checkpoint).vocab_size, 151936);
}

}  // namespace empo::rl

namespace empo::rl {

namespace {

double weight_distance(const std::string& a, const std::string& b) {
  auto left = model::load_model(a), right = model::load_model(b);
  auto x = model::parameters(left), y = model::parameters(right);
  double total = 0;
  for (size_t i = 0; i < x.size(); ++i) total += (x[i] - y[i]).abs().sum().item<double>();
  return total;
}

}  // namespace

TEST(Trainer, OldLogprobsMakeTheRatioMoveAcrossMiniBatches) {
  // One rollout batch of 4 questions feeds 4 optimizer steps (num_iterations = 1). After the
  // first step the policy has moved, so later mini-batches must see ratio != 1 and clip at a
  // tight epsilon. With old = current.detach() the clip fractions stayed 0 (the bug).
  Workspace workspace;
  auto config = parse_config(workspace.yaml("old_logprobs",
                                            "reward: token_entropy\nsteps_per_generation: 4\n"
                                            "epsilon: 0.02\nmax_steps: 4\nsave_steps: 0\n"),
                             "test", {"learning_rate=0.01", "per_device_train_batch_size=1"});
  train(config, quiet());
  auto metrics = read_metrics(config.output_dir);
  ASSERT_EQ(metrics.size(), 4u);
  // The first step is on-policy: nothing to clip.
  EXPECT_EQ(metrics[0]["clip_ratio/low_mean"].get<double>() +
                metrics[0]["clip_ratio/high_mean"].get<double>(),
            0.0);
  double later = 0;
  for (size_t i = 1; i < 4; ++i)
    later += metrics[i]["clip_ratio/low_mean"].get<double>() +
             metrics[i]["clip_ratio/high_mean"].get<double>();
  EXPECT_GT(later, 0.0);
  // One rollout: the rollout metrics are the same line for all four steps.
  for (size_t i = 1; i < 4; ++i) EXPECT_EQ(metrics[i]["reward"], metrics[0]["reward"]);
}

TEST(Trainer, MiniBatchesOfAFilteredRolloutCountEverySampleOnce) {
  // 16 questions over 8 optimizer steps with an entropy band: whatever the filter keeps, the
  // steps share exactly the kept samples (no step starts past the end: the 1.8e19 bug).
  Workspace workspace;
  auto metrics = train_and_read(workspace, "underflow",
                                "reward: token_entropy\nsteps_per_generation: 8\n"
                                "entropy_band: [0.45, 0.95]\nmax_steps: 8\nsave_steps: 0\n");
  ASSERT_EQ(metrics.size(), 8u);
  const double filtered = metrics[0]["empo/filtered_low"].get<double>() +
                          metrics[0]["empo/filtered_high"].get<double>();
  const double kept_samples = std::round((1.0 - filtered) * 16) * 4;
  double total = 0;
  for (const auto& line : metrics) {
    const double samples = line["train_samples"].get<double>();
    EXPECT_LE(samples, kept_samples);
    EXPECT_TRUE(std::isfinite(line["loss"].get<double>()));
    total += samples;
  }
  EXPECT_EQ(total, kept_samples);
}

TEST(Trainer, MaskTruncatedCompletionsLeavesNothingToLearnFromTruncatedOnes) {
  // Two new tokens: the random policy almost never stops that soon, so every completion is
  // truncated; masked, none carries a gradient and the weights cannot move.
  Workspace workspace;
  const std::string extra = "reward: token_entropy\nmax_steps: 1\nsave_steps: 1\n";
  const std::vector<std::string> overrides{"learning_rate=0.01", "max_completion_length=2"};
  auto masked = parse_config(workspace.yaml("masked", extra + "mask_truncated_completions: true\n"),
                             "test", overrides);
  train(masked, quiet());
  auto metrics = read_metrics(masked.output_dir);
  ASSERT_EQ(metrics[0]["completions/clipped_ratio"].get<double>(), 1.0);
  EXPECT_EQ(metrics[0]["grad_norm"].get<double>(), 0.0);
  EXPECT_EQ(weight_distance(masked.output_dir + "/checkpoint-1", workspace.model), 0.0);
  auto unmasked = parse_config(workspace.yaml("unmasked", extra), "test", overrides);
  train(unmasked, quiet());
  EXPECT_GT(read_metrics(unmasked.output_dir)[0]["grad_norm"].get<double>(), 0.0);
  EXPECT_GT(weight_distance(unmasked.output_dir + "/checkpoint-1", workspace.model), 0.0);
}

TEST(Trainer, MicroBatchSizeChangesMemoryNotTheGradient) {
  Workspace workspace;
  const std::string extra =
      "reward: token_entropy\ngradient_accumulation_steps: 2\nmax_steps: 1\nsave_steps: 1\n";
  for (const char* loss : {"grpo", "bnpo"}) {
    auto whole = parse_config(
        workspace.yaml(std::string("whole_") + loss, extra + "loss_type: " + loss + "\n"), "test");
    auto pieces =
        parse_config(workspace.yaml(std::string("pieces_") + loss,
                                    extra + "loss_type: " + loss + "\nmicro_batch_size: 3\n"),
                     "test");
    train(whole, quiet());
    train(pieces, quiet());
    auto a = read_metrics(whole.output_dir), b = read_metrics(pieces.output_dir);
    ASSERT_EQ(a.size(), 1u);
    for (size_t step = 0; step < 1; ++step)
      for (const char* key : {"loss", "grad_norm"}) {
        const double x = a[step][key].get<double>(), y = b[step][key].get<double>();
        EXPECT_NEAR(x, y, 1e-5 * std::max(1.0, std::abs(x))) << loss << " " << key << " " << step;
      }
    EXPECT_LT(
        weight_distance(whole.output_dir + "/checkpoint-1", pieces.output_dir + "/checkpoint-1"),
        1e-3)
        << loss;
  }
}

TEST(Trainer, DynamicSamplingDrawsReplacementGroups) {
  // The random policy rarely writes an answer: most groups are all-empty, one cluster, zero
  // reward std. Dynamic sampling must draw new questions for them (counted in
  // resampled_groups) and train on at least what the first draw kept.
  Workspace workspace;
  auto metrics = train_and_read(workspace, "dynamic",
                                "reward: empo\ndynamic_sampling: true\nmax_resample_rounds: 2\n"
                                "max_steps: 1\nsave_steps: 0\n");
  ASSERT_EQ(metrics.size(), 1u);
  const double zero_std = metrics[0]["frac_reward_zero_std"].get<double>();
  ASSERT_GT(zero_std, 0.0);
  EXPECT_GT(metrics[0]["resampled_groups"].get<double>(), 0.0);
  EXPECT_GE(metrics[0]["train_samples"].get<double>(), std::round((1 - zero_std) * 2) * 4);
}

}  // namespace empo::rl

namespace empo::rl {

TEST(Trainer, CheckpointsStayCompleteAfterTheResumedFromCheckpointRotatesAway) {
  // A resumed run loads checkpoint-1; save_total_limit 1 removes it at the next save, and
  // every later checkpoint must still carry the tokenizer (found by the SIGKILL test).
  Workspace workspace;
  auto config = parse_config(workspace.yaml("rotate",
                                            "reward: token_entropy\nmax_steps: 1\nsave_steps: 1\n"
                                            "save_total_limit: 1\n"),
                             "test");
  train(config, quiet());
  resume(config.output_dir, {"max_steps=4"}, quiet());
  auto last = latest_checkpoint(config.output_dir);
  EXPECT_EQ(fs::path(last).filename(), "checkpoint-4");
  EXPECT_FALSE(fs::exists(config.output_dir + "/checkpoint-1"));
  for (const char* name : {"tokenizer.json", "tokenizer_config.json", "generation_config.json"})
    EXPECT_TRUE(fs::exists(last + "/" + name)) << name;
}

}  // namespace empo::rl
