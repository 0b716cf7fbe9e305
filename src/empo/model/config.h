#pragma once
// The architecture of a decoder-only model, read from a Hugging Face config.json.
// Supported families: qwen2, qwen3, llama (one shared block, per-family switches).
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "empo/model/rope.h"

namespace empo::model {

struct ModelConfig {
  std::string model_type;  // qwen2 | qwen3 | llama
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  int64_t head_dim = 0;
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;  // rope_parameters / rope_scaling: linear, llama3, yarn
  bool tie_word_embeddings = false;
  bool attention_bias = false;    // q/k/v bias (Qwen2 always; Llama when attention_bias)
  bool o_proj_bias = false;       // Llama's attention_bias also covers o_proj
  bool qk_norm = false;           // Qwen3: RMSNorm on each head's q and k before RoPE
  std::string dtype = "float32";  // torch_dtype / dtype of the checkpoint
  std::vector<int64_t> eos_token_ids;
  nlohmann::json raw;  // the file as read, so a saved checkpoint keeps every field
};

// transformers' attn_implementation. sdpa: scaled_dot_product_attention (fused kernels on
// libtorch 2.x, the math path on 1.13); eager: the reference path that materialises the scores;
// automatic: sdpa where the linked libtorch has fused kernels, else eager.
enum class AttnImplementation { automatic, sdpa, eager };
// "auto" | "sdpa" | "eager"; InputError naming `where` otherwise.
AttnImplementation parse_attn_implementation(const std::string& name, const std::string& where);
const char* to_string(AttnImplementation value);

// Throws InputError naming the file and the key for missing, mistyped or unsupported values.
ModelConfig parse_model_config(const nlohmann::json& json, const std::string& source);
ModelConfig load_model_config(const std::string& model_folder);

// config.json for a saved checkpoint: the original fields with the dtype updated.
nlohmann::json model_config_json(const ModelConfig& config, const std::string& dtype);

}  // namespace empo::model
