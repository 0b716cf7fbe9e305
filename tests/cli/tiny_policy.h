#pragma once
// A complete tiny policy folder for end-to-end command tests: qwen2-tiny's HF weights plus a
// character tokenizer, and addition questions with answers.
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "empo/data/synthetic.h"
#include "empo/text/tokenizer_writer.h"
#include "test_support.h"

namespace empo::test {

inline std::string tiny_policy(const std::string& dir) {
  std::string model = dir + "/model";
  std::filesystem::create_directories(model);
  for (const char* name : {"config.json", "model.safetensors"})
    std::filesystem::copy_file(fixture(std::string("qwen2-tiny/") + name), model + "/" + name,
                               std::filesystem::copy_options::overwrite_existing);
  text::CharVocabulary vocabulary;  // printable ASCII, so benchmark questions encode
  vocabulary.characters.clear();
  for (char c = 32; c < 127; ++c) vocabulary.characters.push_back(c);
  text::write_char_tokenizer(model, vocabulary);
  return model;
}

inline std::string addition_questions(const std::string& path, size_t count, uint64_t seed) {
  data::write_addition_jsonl(
      path, data::generate_addition_split(data::AdditionTask{}, data::Split::train, count, seed));
  return path;
}

// DIR/config.yaml: a short token_entropy run of the tiny policy on `data` (output DIR/run),
// 2 steps, a checkpoint every step; the "key: value" lines of `extra` replace the defaults'.
inline std::string write_config(const std::string& dir, const std::string& model,
                                const std::string& data, const std::string& extra = "") {
  const std::string defaults = "model_name_or_path: " + model + "\ntrain_file: " + data +
                               "\noutput_dir: " + dir +
                               "/run\nchat_format: raw\nsystem_prompt: \"\"\n"
                               "question_template: \"{question}\"\nanswer_extraction: hash_dollar\n"
                               "num_generations: 3\nper_device_train_batch_size: 2\n"
                               "max_completion_length: 8\nmax_steps: 2\nsave_steps: 1\n"
                               "reward: token_entropy\ndevice: cpu\n";
  auto key_of = [](const std::string& line) { return line.substr(0, line.find(':')); };
  std::vector<std::string> overrides;
  std::istringstream extra_lines(extra);
  for (std::string line; std::getline(extra_lines, line);) overrides.push_back(line);
  std::string text;
  std::istringstream default_lines(defaults);
  for (std::string line; std::getline(default_lines, line);) {
    bool replaced = false;
    for (const auto& override_line : overrides) replaced |= key_of(override_line) == key_of(line);
    if (!replaced) text += line + "\n";
  }
  text += extra;
  std::string path = dir + "/config.yaml";
  write_text(path, text);
  return path;
}

}  // namespace empo::test
