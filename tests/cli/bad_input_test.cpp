// End to end: every bad-input case of the README table "input -> what happens" (exit 2 with
// the file, line or tensor named, or the documented opt-in), and a full disk while
// checkpointing.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include "empo/io/jsonl.h"
#include "empo/io/safetensors.h"
#include "tiny_policy.h"

namespace empo {

namespace fs = std::filesystem;

namespace {

struct RunFolder {
  std::string dir = test::temp_dir("bad_input");
  std::string model = test::tiny_policy(dir);
  std::string data = test::addition_questions(dir + "/train.jsonl", 6, 2);
  std::string config(const std::string& extra = "") const {
    const bool sets_steps = extra.find("max_steps:") != std::string::npos;
    return test::write_config(dir, model, data, (sets_steps ? "" : "max_steps: 1\n") + extra);
  }
  // A copy of the model folder to damage.
  std::string copy_model(const std::string& name) const {
    const std::string copy = dir + "/" + name;
    fs::copy(model, copy, fs::copy_options::recursive);
    return copy;
  }
};

void expect_input_error(const test::CommandResult& result, const std::string& named) {
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find(named), std::string::npos) << result.output;
  EXPECT_EQ(result.output.find("internal error"), std::string::npos) << result.output;
}

}  // namespace

TEST(BadInput, MissingOrCorruptModelFiles) {
  RunFolder setup;
  auto missing = setup.copy_model("no_weights");
  fs::remove(missing + "/model.safetensors");
  expect_input_error(
      test::run_empo("train --config " + setup.config() + " model_name_or_path=" + missing),
      "no_weights");
  auto no_config = setup.copy_model("no_config");
  fs::remove(no_config + "/config.json");
  expect_input_error(
      test::run_empo("train --config " + setup.config() + " model_name_or_path=" + no_config),
      "config.json");
  auto truncated = setup.copy_model("truncated");
  auto bytes = test::read_text(truncated + "/model.safetensors");
  test::write_text(truncated + "/model.safetensors", bytes.substr(0, bytes.size() / 2));
  expect_input_error(
      test::run_empo("train --config " + setup.config() + " model_name_or_path=" + truncated),
      "model.safetensors");
  test::write_text(truncated + "/model.safetensors", "not a safetensors file");
  expect_input_error(test::run_empo("generate --model " + truncated + " --input " + setup.data +
                                    " --output " + setup.dir + "/out.jsonl"),
                     "model.safetensors");
  EXPECT_FALSE(fs::exists(setup.dir + "/out.jsonl"));
}

TEST(BadInput, TokenizerIdsBeyondTheModelVocabulary) {
  RunFolder setup;
  // Qwen's tokenizer (151,665 ids) on a model with a 512-row embedding.
  auto mismatched = setup.copy_model("mismatched");
  for (const char* name : {"tokenizer.json", "tokenizer_config.json"})
    fs::copy_file(test::fixture(std::string("qwen-tokenizer/") + name), mismatched + "/" + name,
                  fs::copy_options::overwrite_existing);
  expect_input_error(
      test::run_empo("train --config " + setup.config() + " model_name_or_path=" + mismatched),
      "vocab_size is 512");
}

TEST(BadInput, PromptsOverMaxPromptLength) {
  RunFolder setup;
  expect_input_error(test::run_empo("train --config " + setup.config() + " max_prompt_length=3"),
                     "longer than max_prompt_length 3");
  auto result = test::run_empo("train --config " + setup.config() +
                               " max_prompt_length=3 truncate_prompts=left");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  auto metrics = test::read_jsonl(setup.dir + "/run/metrics.jsonl");
  ASSERT_EQ(metrics.size(), 1u);
  EXPECT_EQ(metrics[0]["data/truncated_prompts"].get<double>(), 2.0);  // both questions
}

TEST(BadInput, MalformedJsonlLines) {
  RunFolder setup;
  test::write_text(setup.dir + "/mixed.jsonl",
                   "{\"question\": \"12+13=\"}\n{\"question\": \"1+2=\"\n{\"nothing\": 1}\n"
                   "{\"question\": \"4+4=\"}\n");
  auto config = setup.config("train_file: " + setup.dir + "/mixed.jsonl\n");
  expect_input_error(test::run_empo("train --config " + config), "mixed.jsonl:2");
  auto result = test::run_empo("train --config " + config + " skip_bad_lines=true");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("mixed.jsonl:3"), std::string::npos) << result.output;  // warned
  auto metrics = test::read_jsonl(setup.dir + "/run/metrics.jsonl");
  EXPECT_EQ(metrics[0]["data/skipped_lines"].get<double>(), 2.0);
}

TEST(BadInput, UnwritableOutputDirFailsBeforeAnyWork) {
  RunFolder setup;
  test::write_text(setup.dir + "/a_file", "x");
  auto result = test::run_empo("train --config " + setup.config() + " output_dir=" + setup.dir +
                               "/a_file/run");
  expect_input_error(result, setup.dir + "/a_file/run");
  EXPECT_NE(result.output.find("output_dir"), std::string::npos) << result.output;
  EXPECT_EQ(result.output.find("step 1"), std::string::npos) << result.output;
}

TEST(BadInput, NonFiniteWeightsAreRefusedNamingTheTensor) {
  RunFolder setup;
  auto poisoned = setup.copy_model("poisoned");
  auto file = io::SafetensorsFile::open(setup.model + "/model.safetensors");
  std::vector<std::vector<uint8_t>> buffers;
  std::vector<io::TensorToWrite> tensors;
  for (const auto& info : file->tensors()) {
    buffers.emplace_back(file->data(info), file->data(info) + (info.end - info.begin));
    if (info.name == "model.layers.1.mlp.up_proj.weight") {
      const float nan = std::numeric_limits<float>::quiet_NaN();
      std::memcpy(buffers.back().data() + 4 * sizeof(float), &nan, sizeof nan);
    }
  }
  size_t index = 0;
  for (const auto& info : file->tensors()) {
    tensors.push_back(
        {info.name, info.dtype, info.shape, buffers[index].data(), buffers[index].size()});
    ++index;
  }
  io::write_safetensors(poisoned + "/model.safetensors", tensors);
  expect_input_error(
      test::run_empo("train --config " + setup.config() + " model_name_or_path=" + poisoned),
      "model.layers.1.mlp.up_proj.weight");
  expect_input_error(test::run_empo("generate --model " + poisoned + " --input " + setup.data +
                                    " --output " + setup.dir + "/out.jsonl"),
                     "NaN or Inf");
}

TEST(BadInput, AFullDiskWhileCheckpointingKeepsThePreviousCheckpoint) {
  // A small tmpfs in a private mount namespace: room for one checkpoint (about 1.5 MB with
  // its AdamW moments) but not for a second beside it.
  if (std::system("unshare -m true 2>/dev/null") != 0)
    GTEST_SKIP() << "mount namespaces are not available here";
  RunFolder setup;
  const std::string run = setup.dir + "/run", saved = setup.dir + "/saved";
  fs::create_directories(run);
  auto config = setup.config("max_steps: 3\nsave_steps: 1\nsave_total_limit: 1\n");
  const std::string script = "mount -t tmpfs -o size=2600k tmpfs " + run + " && " +
                             std::string(EMPO_BINARY) + " train --config " + config + " > " +
                             setup.dir + "/log 2>&1; echo $? > " + setup.dir + "/code; cp -r " +
                             run + " " + saved;
  ASSERT_EQ(std::system(("unshare -m sh -c '" + script + "'").c_str()), 0);
  const std::string log = test::read_text(setup.dir + "/log");
  EXPECT_NE(std::stoi(test::read_text(setup.dir + "/code")), 0) << log;
  EXPECT_NE(log.find("disk full"), std::string::npos) << log;
  // checkpoint-1 is complete and nothing half-written is left beside it.
  ASSERT_TRUE(fs::exists(saved + "/checkpoint-1/trainer_state.json")) << log;
  EXPECT_NO_THROW(io::SafetensorsFile::open(saved + "/checkpoint-1/model.safetensors"));
  EXPECT_NO_THROW(io::SafetensorsFile::open(saved + "/checkpoint-1/optimizer.safetensors"));
  for (const auto& entry : fs::directory_iterator(saved))
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
}

}  // namespace empo
