#pragma once
// A complete tiny policy folder for end-to-end command tests: qwen2-tiny's HF weights plus a
// character tokenizer, and addition questions with answers; and a random one-layer model with
// the real Qwen tokenizer.
#include <cmath>
#include <filesystem>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "empo/data/synthetic.h"
#include "empo/io/jsonl.h"
#include "empo/io/safetensors.h"
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

// A random Qwen2 model (one layer, hidden 32, 2 heads, 1 key/value head, tied embeddings,
// 4096 positions) with the real Qwen tokenizer and its ChatML template
// (fixtures/qwen-tokenizer): matrices N(0, 1/fan_in), biases 0.1 N(0, 1), norms 1, drawn from
// `seed`. Its vocabulary holds every id of the tokenizer (151,669), padded to 151,680.
inline std::string random_qwen_policy(const std::string& folder, uint64_t seed) {
  std::filesystem::create_directories(folder);
  const int64_t vocab = 151680, hidden = 32, intermediate = 64, heads = 2, kv_heads = 1;
  const int64_t head_dim = hidden / heads;
  auto config = io::Json::parse(read_text(fixture("qwen2-tiny/config.json")));
  config["vocab_size"] = vocab;
  config["hidden_size"] = hidden;
  config["intermediate_size"] = intermediate;
  config["num_hidden_layers"] = 1;
  config["num_attention_heads"] = heads;
  config["num_key_value_heads"] = kv_heads;
  config["max_position_embeddings"] = 4096;
  config["layer_types"] = io::Json::array({"full_attention"});
  write_text(folder + "/config.json", config.dump(2));
  for (const char* name : {"tokenizer.json", "tokenizer_config.json"})
    std::filesystem::copy_file(fixture(std::string("qwen-tokenizer/") + name), folder + "/" + name,
                               std::filesystem::copy_options::overwrite_existing);
  std::mt19937_64 engine(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<std::pair<std::string, std::vector<int64_t>>> shapes = {
      {"model.embed_tokens.weight", {vocab, hidden}},
      {"model.norm.weight", {hidden}},
      {"model.layers.0.input_layernorm.weight", {hidden}},
      {"model.layers.0.post_attention_layernorm.weight", {hidden}},
      {"model.layers.0.self_attn.q_proj.weight", {heads * head_dim, hidden}},
      {"model.layers.0.self_attn.q_proj.bias", {heads * head_dim}},
      {"model.layers.0.self_attn.k_proj.weight", {kv_heads * head_dim, hidden}},
      {"model.layers.0.self_attn.k_proj.bias", {kv_heads * head_dim}},
      {"model.layers.0.self_attn.v_proj.weight", {kv_heads * head_dim, hidden}},
      {"model.layers.0.self_attn.v_proj.bias", {kv_heads * head_dim}},
      {"model.layers.0.self_attn.o_proj.weight", {hidden, heads * head_dim}},
      {"model.layers.0.mlp.gate_proj.weight", {intermediate, hidden}},
      {"model.layers.0.mlp.up_proj.weight", {intermediate, hidden}},
      {"model.layers.0.mlp.down_proj.weight", {hidden, intermediate}}};
  std::vector<std::vector<float>> values;
  values.reserve(shapes.size());  // the tensors point into them
  std::vector<io::TensorToWrite> tensors;
  for (const auto& [name, shape] : shapes) {
    const bool is_norm = name.find("norm") != std::string::npos;
    const bool is_bias = name.find("bias") != std::string::npos;
    size_t count = 1;
    for (int64_t extent : shape) count *= static_cast<size_t>(extent);
    std::vector<float> tensor(count);
    const float scale =
        is_bias ? 0.1f : 1.0f / std::sqrt(static_cast<float>(shape.size() > 1 ? shape[1] : 1));
    for (float& value : tensor) value = is_norm ? 1.0f : scale * normal(engine);
    values.push_back(std::move(tensor));
    tensors.push_back({name, io::DType::F32, shape, values.back().data(), count * sizeof(float)});
  }
  io::write_safetensors(folder + "/model.safetensors", tensors);
  return folder;
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
