// Time of one EMPO training step on CPU split into generate / reward / train, and the share
// of each: a demo-sized Qwen2 model (hidden 128, 2 layers, character vocabulary) and the
// demo's batch (32 questions x 8 samples, up to 48 new tokens).
#include <benchmark/benchmark.h>

#include <filesystem>

#include "empo/data/synthetic.h"
#include "empo/model/runtime.h"
#include "empo/rl/sft.h"
#include "empo/rl/trainer.h"

namespace {

using namespace empo;

std::string prepare(const std::string& dir, int64_t hidden, int64_t layers) {
  std::filesystem::remove_all(dir);
  std::string model_dir = dir + "/model";
  rl::SmallModelSpec spec;
  spec.hidden_size = hidden;
  spec.num_hidden_layers = layers;
  spec.intermediate_size = 4 * hidden;
  rl::init_char_model(model_dir, spec, text::CharVocabulary{}, 0);
  data::write_addition_jsonl(
      dir + "/train.jsonl",
      data::generate_addition_split(data::AdditionTask{}, data::Split::train, 2000, 0));
  return model_dir;
}

void BM_EmpoStep(benchmark::State& state) {
  model::init_runtime();
  const std::string dir = std::filesystem::temp_directory_path() / "empo_trainer_bench";
  auto model_dir = prepare(dir, state.range(0), state.range(1));
  auto config = rl::parse_config(
      "model_name_or_path: " + model_dir + "\ntrain_file: " + dir +
          "/train.jsonl\noutput_dir: " + dir +
          "/run\noverwrite_output_dir: true\nchat_format: raw\nsystem_prompt: \"\"\n"
          "question_template: \"{question}\"\nanswer_extraction: hash_dollar\nequivalence: math\n"
          "num_generations: 8\nper_device_train_batch_size: 32\nmax_completion_length: 48\n"
          "temperature: 1.0\nlearning_rate: 0.0002\nmax_steps: 3\nsave_steps: 0\ndevice: cpu\n",
      "bench");
  double generate = 0, reward = 0, train = 0;
  long steps = 0;
  rl::TrainHooks hooks;
  hooks.quiet = true;
  hooks.on_step = [&](long, const io::Json& metrics) {
    generate += metrics["time/generate"].get<double>();
    reward += metrics["time/reward"].get<double>();
    train += metrics["time/train"].get<double>();
    ++steps;
  };
  for (auto _ : state) rl::train(config, hooks);
  const double total = generate + reward + train;
  state.counters["step_s"] = total / steps;
  state.counters["generate_s"] = generate / steps;
  state.counters["reward_s"] = reward / steps;
  state.counters["train_s"] = train / steps;
  state.counters["generate_share"] = generate / total;
  state.counters["reward_share"] = reward / total;
  state.counters["train_share"] = train / total;
}
BENCHMARK(BM_EmpoStep)
    ->Args({128, 2})
    ->Args({256, 4})
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
