// End to end: `empo train` from a config file, --resume, and bad configs/data -> exit 2.
#include <gtest/gtest.h>

#include <filesystem>

#include <cmath>
#include <map>

#include "empo/io/jsonl.h"
#include "empo/io/safetensors.h"
#include "tiny_policy.h"

namespace empo {

using test::write_config;

TEST(TrainCommand, TrainsResumesAndWritesCheckpoints) {
  auto dir = test::temp_dir("train_cli");
  auto model = test::tiny_policy(dir);
  auto data = test::addition_questions(dir + "/train.jsonl", 8, 1);
  auto config = write_config(dir, model, data);
  auto result = test::run_empo("train --config " + config + " learning_rate=0.01");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(std::filesystem::exists(dir + "/run/checkpoint-2/model.safetensors"))
      << result.output;
  EXPECT_NE(test::read_text(dir + "/run/config.yaml").find("learning_rate: 0.01"),
            std::string::npos);
  result = test::run_empo("train --resume " + dir + "/run max_steps=3");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(std::filesystem::exists(dir + "/run/checkpoint-3/trainer_state.json"));
  int lines = 0;
  io::for_each_jsonl(dir + "/run/metrics.jsonl", [&](const io::Json&, long) { ++lines; });
  EXPECT_EQ(lines, 3);
  // completions.jsonl continues as well: both questions of every step, none twice.
  std::vector<long> steps;
  for (const auto& line : test::read_jsonl(dir + "/run/completions.jsonl"))
    steps.push_back(line["step"].get<long>());
  EXPECT_EQ(steps, (std::vector<long>{1, 1, 2, 2, 3, 3}));
}

TEST(TrainCommand, BadConfigAndDataExitTwoWithLocation) {
  auto dir = test::temp_dir("train_cli");
  auto model = test::tiny_policy(dir);
  auto data = test::addition_questions(dir + "/train.jsonl", 4, 1);
  auto config = write_config(dir, model, data, "temprature: 0.5\n");
  auto result = test::run_empo("train --config " + config);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("config.yaml:15"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("temprature"), std::string::npos) << result.output;

  config = write_config(dir, model, data);
  result = test::run_empo("train --config " + config + " temperature=-1");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("temperature"), std::string::npos) << result.output;

  test::write_text(dir + "/bad.jsonl", "{\"question\": \"12+13=\"}\n{\"nothing\": 1}\n");
  config = write_config(dir, model, dir + "/bad.jsonl");
  result = test::run_empo("train --config " + config);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("bad.jsonl:2"), std::string::npos) << result.output;
  EXPECT_FALSE(std::filesystem::exists(dir + "/run/checkpoint-1"));
}

namespace {
// The float32 values of every tensor of a safetensors file, by name.
std::map<std::string, std::vector<float>> read_weights(const std::string& path) {
  auto file = io::SafetensorsFile::open(path);
  std::map<std::string, std::vector<float>> weights;
  for (const auto& info : file->tensors()) {
    const float* values = reinterpret_cast<const float*>(file->data(info));
    weights[info.name].assign(values, values + info.numel());
  }
  return weights;
}
}  // namespace

TEST(TrainCommand, TwoProcessesTrainLikeOne) {
  // Data parallel over torch c10d (Gloo): 2 ranks x 1 question = 1 rank x 2 questions. The
  // questions, their sampling streams and the loss normalisers are global, so only the order
  // of floating-point sums differs.
  auto dir = test::temp_dir("train_cli");
  auto model = test::tiny_policy(dir);
  auto data = test::addition_questions(dir + "/train.jsonl", 8, 1);
  auto config = write_config(dir, model, data);
  auto single = test::run_empo("train --config " + config + " output_dir=" + dir +
                               "/single learning_rate=0.001");
  ASSERT_EQ(single.exit_code, 0) << single.output;
  auto pair = test::run_empo("train --nproc 2 --config " + config + " output_dir=" + dir +
                             "/pair per_device_train_batch_size=1 learning_rate=0.001");
  ASSERT_EQ(pair.exit_code, 0) << pair.output;
  // The reduced gradient (its norm), the loss and the rollout statistics agree step by step.
  std::vector<io::Json> single_metrics, pair_metrics;
  io::for_each_jsonl(dir + "/single/metrics.jsonl",
                     [&](const io::Json& line, long) { single_metrics.push_back(line); });
  io::for_each_jsonl(dir + "/pair/metrics.jsonl",
                     [&](const io::Json& line, long) { pair_metrics.push_back(line); });
  ASSERT_EQ(single_metrics.size(), pair_metrics.size());
  for (size_t step = 0; step < single_metrics.size(); ++step)
    for (const char* key :
         {"reward", "grad_norm", "loss", "entropy", "completions/mean_length", "train_samples"}) {
      double a = single_metrics[step][key].get<double>(), b = pair_metrics[step][key].get<double>();
      EXPECT_NEAR(a, b, 1e-4 * std::max(1.0, std::abs(a))) << key << " at step " << step + 1;
    }
  EXPECT_GT(single_metrics[0]["grad_norm"].get<double>(), 0.0);
  auto one = read_weights(dir + "/single/checkpoint-2/model.safetensors");
  auto two = read_weights(dir + "/pair/checkpoint-2/model.safetensors");
  auto start = read_weights(model + "/model.safetensors");
  // Adam divides by sqrt(v): on the few parameters whose gradient is ~0 the rounding of the
  // all-reduce can flip a step of size lr, so compare the weights on average.
  double total_change = 0, total_difference = 0;
  for (const auto& [name, values] : one)
    for (size_t i = 0; i < values.size(); ++i) {
      total_change += std::abs(values[i] - start[name][i]);
      total_difference += std::abs(values[i] - two[name][i]);
    }
  EXPECT_GT(total_change, 0.0);  // training moved the weights, and both runs alike
  EXPECT_LT(total_difference, 0.01 * total_change);
  // Rank 0 alone writes metrics: one line per step, like the single process.
  int lines = 0;
  io::for_each_jsonl(dir + "/pair/metrics.jsonl", [&](const io::Json&, long) { ++lines; });
  EXPECT_EQ(lines, 2);
}

namespace {
std::vector<io::Json> metrics_of(const std::string& run) {
  std::vector<io::Json> lines;
  io::for_each_jsonl(run + "/metrics.jsonl",
                     [&](const io::Json& line, long) { lines.push_back(line); });
  return lines;
}

// The step-by-step metrics of two runs agree within `tolerance` (relative).
void expect_same_metrics(const std::vector<io::Json>& a, const std::vector<io::Json>& b,
                         double tolerance, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t step = 0; step < a.size(); ++step)
    for (const char* key : {"reward", "grad_norm", "loss", "entropy", "kl",
                            "completions/mean_length", "train_samples"}) {
      const double x = a[step][key].get<double>(), y = b[step][key].get<double>();
      EXPECT_NEAR(x, y, tolerance * std::max(1.0, std::abs(x)))
          << what << ": " << key << " at step " << step + 1;
    }
}

// One completion per forward and a step size continuous in the gradient (see below).
const char kShardingConfig[] = "micro_batch_size: 1\nlearning_rate: 0.001\nadam_epsilon: 1e-3\n";

double max_weight_difference(const std::string& a, const std::string& b) {
  auto first = read_weights(a), second = read_weights(b);
  double worst = 0;
  for (const auto& [name, values] : first)
    for (size_t i = 0; i < values.size(); ++i)
      worst = std::max(worst, static_cast<double>(std::abs(values[i] - second.at(name)[i])));
  return worst;
}
}  // namespace

TEST(TrainCommand, ShardedOptimizerStateTrainsLikeOneProcess) {
  // zero_stage 1 (sharded master weights and moments) and 2 (also gradients) on 2 ranks x 1
  // question against 1 process x 2 questions, one completion per forward (micro_batch_size 1):
  // they agree within 1e-5. adam_epsilon 1e-3: at 1e-8 Adam's first step moves every weight by
  // lr x sign(gradient), so a gradient of ~0 whose sum rounds differently over 2 processes
  // would flip a whole lr step; with a larger epsilon a small gradient makes a small step.
  auto dir = test::temp_dir("train_cli");
  auto model = test::tiny_policy(dir);
  auto data = test::addition_questions(dir + "/train.jsonl", 8, 1);
  auto config = write_config(dir, model, data, kShardingConfig);
  auto single = test::run_empo("train --config " + config + " output_dir=" + dir + "/single");
  ASSERT_EQ(single.exit_code, 0) << single.output;
  for (const char* stage : {"1", "2"}) {
    const std::string run = dir + "/zero" + stage;
    auto pair = test::run_empo("train --nproc 2 --config " + config + " output_dir=" + run +
                               " per_device_train_batch_size=1 zero_stage=" + stage);
    ASSERT_EQ(pair.exit_code, 0) << pair.output;
    expect_same_metrics(metrics_of(dir + "/single"), metrics_of(run), 1e-5,
                        std::string("zero_stage ") + stage);
    EXPECT_LT(max_weight_difference(dir + "/single/checkpoint-2/model.safetensors",
                                    run + "/checkpoint-2/model.safetensors"),
              1e-5)
        << "zero_stage " << stage;
    // Each rank wrote its own shard; there is no replicated optimizer file.
    for (const char* shard : {"optimizer-0-of-2.safetensors", "optimizer-1-of-2.safetensors"})
      EXPECT_TRUE(std::filesystem::exists(run + "/checkpoint-2/" + shard)) << shard;
    EXPECT_FALSE(std::filesystem::exists(run + "/checkpoint-2/optimizer.safetensors"));
  }
  EXPECT_GT(max_weight_difference(model + "/model.safetensors",
                                  dir + "/single/checkpoint-2/model.safetensors"),
            1e-4);  // training moved the weights
}

TEST(TrainCommand, ResumesOnAnotherNumberOfProcesses) {
  // The global batch stays 2 questions: 2 ranks x 1 <-> 1 process x 2. The shards of 2 ranks
  // are merged for 1 process, 1 process's state is split for 2 ranks; the third step equals
  // an uninterrupted run's.
  auto dir = test::temp_dir("train_cli");
  auto model = test::tiny_policy(dir);
  auto data = test::addition_questions(dir + "/train.jsonl", 8, 1);
  auto config = write_config(dir, model, data, kShardingConfig);
  auto full =
      test::run_empo("train --config " + config + " output_dir=" + dir + "/full max_steps=3");
  ASSERT_EQ(full.exit_code, 0) << full.output;
  // 2 -> 1.
  auto two = test::run_empo("train --nproc 2 --config " + config + " output_dir=" + dir +
                            "/two per_device_train_batch_size=1 zero_stage=1");
  ASSERT_EQ(two.exit_code, 0) << two.output;
  auto on_one = test::run_empo("train --resume " + dir +
                               "/two per_device_train_batch_size=2 zero_stage=0 max_steps=3");
  ASSERT_EQ(on_one.exit_code, 0) << on_one.output;
  // 1 -> 2.
  auto one = test::run_empo("train --config " + config + " output_dir=" + dir + "/one");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  auto on_two = test::run_empo("train --nproc 2 --resume " + dir +
                               "/one per_device_train_batch_size=1 zero_stage=2 max_steps=3");
  ASSERT_EQ(on_two.exit_code, 0) << on_two.output;
  EXPECT_TRUE(std::filesystem::exists(dir + "/one/checkpoint-3/optimizer-1-of-2.safetensors"));
  for (const char* run : {"/two", "/one"}) {
    expect_same_metrics(metrics_of(dir + "/full"), metrics_of(dir + run), 1e-5, run);
    EXPECT_LT(max_weight_difference(dir + "/full/checkpoint-3/model.safetensors",
                                    dir + run + "/checkpoint-3/model.safetensors"),
              1e-5)
        << run;
  }
  // Another global batch is refused, naming the numbers to use.
  auto wrong = test::run_empo("train --nproc 2 --resume " + dir +
                              "/one per_device_train_batch_size=2 max_steps=4");
  EXPECT_EQ(wrong.exit_code, 2) << wrong.output;
  EXPECT_NE(wrong.output.find("global batch of 2"), std::string::npos) << wrong.output;
  auto bad_stage = test::run_empo("train --config " + config + " zero_stage=3");
  EXPECT_EQ(bad_stage.exit_code, 2);
  EXPECT_NE(bad_stage.output.find("zero_stage"), std::string::npos) << bad_stage.output;
}

TEST(TrainCommand, AFailingRankStopsTheOthers) {
  auto dir = test::temp_dir("train_cli");
  auto model = test::tiny_policy(dir);
  test::write_text(dir + "/bad.jsonl", "{\"question\": \"12+13=\"}\n{\"nothing\": 1}\n");
  auto config = write_config(dir, model, dir + "/bad.jsonl");
  auto result = test::run_empo("train --nproc 2 --config " + config);
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("bad.jsonl:2"), std::string::npos) << result.output;
}

TEST(TrainCommand, DemoConfigWithOverridesTrains) {
  // The acceptance command, verbatim, from the repository root: configs/demo.yaml names the
  // committed demo model and unlabeled questions by relative paths.
  auto dir = test::temp_dir("train_cli");
  auto result = test::run_empo_in(
      test::source_path(""),
      "train --config configs/demo.yaml max_steps=4 save_steps=2 output_dir=" + dir + "/run");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(std::filesystem::exists(dir + "/run/checkpoint-4/model.safetensors"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/run/checkpoint-2/model.safetensors"));
}

TEST(TrainCommand, FreeFormRecipeRunsAtToySize) {
  // configs/qwen2.5-7b-instruct-empo-freeform.yaml end to end at toy size: a random policy and
  // a random judge with the real Qwen tokenizer (ChatML prompts and the built-in
  // general_verifier judge prompt, as in the recipe), 2 steps on TruthfulQA's first questions,
  // with every free-form rule of the recipe on and its held-out split.
  auto dir = test::temp_dir("train_freeform");
  auto policy = test::random_qwen_policy(dir + "/policy", 1);
  auto judge = test::random_qwen_policy(dir + "/judge", 2);
  std::string csv = test::read_text(test::source_path("data/freeform/TruthfulQA.csv"));
  size_t end = 0;
  for (int line = 0; line < 9; ++line) end = csv.find('\n', end) + 1;  // header + 8 questions
  test::write_text(dir + "/train.csv", csv.substr(0, end));
  const std::string recipe = test::source_path("configs/qwen2.5-7b-instruct-empo-freeform.yaml");
  auto result = test::run_empo(
      "train --config " + recipe + " model_name_or_path=" + policy + " judge_model=" + judge +
      " train_file=" + dir + "/train.csv output_dir=" + dir +
      "/run device=cpu dtype=float32 max_steps=2 save_steps=1 num_generations=3 "
      "per_device_train_batch_size=2 max_completion_length=6 micro_batch_size=0");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  auto metrics = test::read_jsonl(dir + "/run/metrics.jsonl");
  ASSERT_EQ(metrics.size(), 2u);
  for (const auto& line : metrics) {
    EXPECT_TRUE(line.contains("empo/copied_question")) << line.dump();
    EXPECT_TRUE(line.contains("empo/small_majority")) << line.dump();
    EXPECT_FALSE(line.contains("monitor/accuracy")) << line.dump();  // no answers were read
  }
  EXPECT_TRUE(std::filesystem::exists(dir + "/run/checkpoint-2/model.safetensors"));
  // The questions at even positions train; `empo eval --config` of the same recipe evaluates
  // the others.
  std::vector<std::string> questions;
  for (size_t start = csv.find('\n') + 1, index = 0; index < 8; ++index) {
    const size_t comma = csv.find(',', csv.find(',', start) + 1);
    questions.push_back(csv.substr(comma + 1, csv.find(',', comma + 1) - comma - 1));
    start = csv.find('\n', start) + 1;
  }
  auto completions = test::read_jsonl(dir + "/run/completions.jsonl");
  ASSERT_FALSE(completions.empty());
  for (const auto& line : completions) {
    const std::string question = line["question"];
    bool in_train_half = false;
    for (size_t i = 0; i < questions.size(); i += 2)
      in_train_half |= question.find(questions[i]) != std::string::npos;
    EXPECT_TRUE(in_train_half) << question;
    // Every reward is one of the recipe's: a cluster share k/3, -0.5 (empty), 0 (copy, small
    // majority).
    for (const auto& reward : line["rewards"]) {
      const double r = reward.get<double>();
      const bool allowed = r == -0.5 || r == 0 || std::abs(r * 3 - std::round(r * 3)) < 1e-9;
      EXPECT_TRUE(allowed) << r;
    }
  }
  result = test::run_empo("eval --model " + dir + "/run/checkpoint-2 --config " + recipe +
                          " --truthfulqa " + dir + "/train.csv --device cpu --batch-size 2 " +
                          "--output-dir " + dir + "/eval");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  auto records = test::read_jsonl(dir + "/eval/truthfulqa.jsonl");
  ASSERT_EQ(records.size(), 4u);
  for (size_t i = 0; i < records.size(); ++i)
    EXPECT_EQ(records[i]["question"], questions[2 * i + 1]);
}

}  // namespace empo
