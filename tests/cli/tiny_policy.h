#pragma once
// A complete tiny policy folder for end-to-end command tests: qwen2-tiny's HF weights plus a
// character tokenizer, and addition questions with answers.
#include <filesystem>
#include <string>

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

}  // namespace empo::test
