// End to end: `empo plan` answers for the recipes from config.json alone, rejects bad input with
// exit 2, and on CPU predicts the peak memory of a real `empo train` run within 30%.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "tiny_policy.h"

namespace empo {
namespace {

nlohmann::json plan_json(const std::string& arguments) {
  auto result = test::run_empo("plan --json " + arguments);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  return nlohmann::json::parse(result.output);
}

}  // namespace

TEST(PlanCommand, AnswersForTheRecipesFromConfigJsonAlone) {
  for (const char* recipe : {"qwen2.5-math-7b-empo", "qwen2.5-math-7b-empo-gspo"}) {
    auto json =
        plan_json("--config " + test::source_path(std::string("configs/") + recipe + ".yaml") +
                  " model_name_or_path=" + test::source_path("configs/models/Qwen2.5-Math-7B") +
                  " --nproc 8 --gpu-memory 80");
    const auto& bytes = json["per_rank_bytes"];
    EXPECT_EQ(bytes["weights"].get<int64_t>(), 2 * json["parameters"].get<int64_t>()) << recipe;
    int64_t sum = bytes["weights"].get<int64_t>() + bytes["optimizer"].get<int64_t>() +
                  bytes["runtime"].get<int64_t>() +
                  std::max(bytes["kv_cache"].get<int64_t>(),
                           bytes["gradients"].get<int64_t>() + bytes["activations"].get<int64_t>());
    EXPECT_EQ(bytes["total"].get<int64_t>(), sum) << recipe;
    EXPECT_EQ(json["device"], "gpu");
    EXPECT_TRUE(json.contains("fits"));
  }
  auto small =
      plan_json("--config " + test::source_path("configs/qwen2.5-math-1.5b-empo.yaml") +
                " model_name_or_path=" + test::source_path("configs/models/Qwen2.5-Math-1.5B") +
                " --nproc 8 --gpu-memory 80");
  EXPECT_NEAR(small["parameters"].get<double>() / 1e9, 1.54, 0.01);
  // The human form names every term.
  auto table = test::run_empo(
      "plan --config " + test::source_path("configs/qwen2.5-math-1.5b-empo.yaml") +
      " model_name_or_path=" + test::source_path("configs/models/Qwen2.5-Math-1.5B") +
      " --gpu-memory 80");
  ASSERT_EQ(table.exit_code, 0) << table.output;
  for (const char* term : {"weights", "gradients", "optimizer", "activations", "kv_cache", "total"})
    EXPECT_NE(table.output.find(term), std::string::npos) << term << "\n" << table.output;
}

TEST(PlanCommand, BadInputExitsTwoNamingTheProblem) {
  auto dir = test::temp_dir("plan_cli");
  auto config = test::write_config(dir, dir + "/no-such-model", dir + "/train.jsonl");
  auto result = test::run_empo("plan --config " + config);
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("config.json"), std::string::npos) << result.output;
  result = test::run_empo("plan --config " + config + " rollout_memory_fraction=1.5");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("rollout_memory_fraction"), std::string::npos) << result.output;
}

// The prediction against the kernel's count: the peak resident size of a real run (a 50M
// parameter model, so that weights, AdamW state and activations, not the binary, dominate).
TEST(PlanCommand, PredictsThePeakResidentSizeOfARealRunWithinThirtyPercent) {
  auto dir = test::temp_dir("plan_rss");
  const std::string model = dir + "/model";
  auto made =
      test::run_empo("init-model --output " + model +
                     " --hidden 768 --layers 8 --heads 12 --kv-heads 4 --intermediate 2048"
                     " --max-positions 256 --seed 3 --vocab "
                     "'0123456789+=,#$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'");
  ASSERT_EQ(made.exit_code, 0) << made.output;
  auto data = test::addition_questions(dir + "/train.jsonl", 8, 1);
  size_t longest = 0;
  for (const auto& line : test::read_jsonl(data))
    longest = std::max(longest, line["question"].get<std::string>().size());
  // A character tokenizer: a prompt is its characters. With 67 characters a random policy
  // picks EOS 1.5% of the time, so the longest of the 16 completions reaches
  // max_completion_length, the length the plan assumes.
  auto config = test::write_config(dir, model, data,
                                   "max_prompt_length: " + std::to_string(longest) +
                                       "\nmax_completion_length: 96\nnum_generations: 4\n"
                                       "per_device_train_batch_size: 4\nmax_steps: 1\n"
                                       "save_steps: 0\nlog_completions: false\n");
  auto measured = test::run_shell(
      "python3 -c 'import resource, subprocess, sys; "
      "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
      "print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' " +
      test::build_dir() + "/empo train --config " + config);
  int code = -1;
  long peak_kib = 0;
  ASSERT_EQ(std::sscanf(measured.output.c_str(), "%d %ld", &code, &peak_kib), 2) << measured.output;
  ASSERT_EQ(code, 0) << measured.output;
  const double peak = static_cast<double>(peak_kib) * 1024;
  auto json = plan_json("--config " + config);
  const double predicted = json["per_rank_bytes"]["total"].get<double>();
  std::cout << "plan total " << predicted / (1 << 20) << " MiB, measured peak RSS "
            << peak / (1 << 20) << " MiB\n";
  EXPECT_LT(std::fabs(predicted - peak), 0.3 * peak) << json.dump(2);
  // The model-dependent terms must be most of it: a plan that only counted the binary (the
  // runtime term) would fail here.
  const double modelled = predicted - json["per_rank_bytes"]["runtime"].get<double>();
  EXPECT_GT(modelled, 0.75 * peak);
}

}  // namespace empo
