#include "empo/model/config.h"

#include <filesystem>

#include "empo/io/error.h"
#include "empo/io/jsonl.h"

namespace empo::model {

namespace {

using Json = nlohmann::json;

const Json* find_key(const Json& json, const char* key) {
  auto found = json.find(key);
  return found == json.end() || found->is_null() ? nullptr : &*found;
}

int64_t positive_int(const Json& json, const char* key, const std::string& source) {
  const Json* value = find_key(json, key);
  if (!value) throw_input_error(source, 0, std::string("missing \"") + key + "\"");
  if (!value->is_number_integer() || value->get<int64_t>() <= 0)
    throw_input_error(
        source, 0, std::string("\"") + key + "\" must be a positive integer, got " + value->dump());
  return value->get<int64_t>();
}

int64_t positive_int_or(const Json& json, const char* key, int64_t fallback,
                        const std::string& source) {
  return find_key(json, key) ? positive_int(json, key, source) : fallback;
}

double number_or(const Json& json, const char* key, double fallback, const std::string& source) {
  const Json* value = find_key(json, key);
  if (!value) return fallback;
  if (!value->is_number())
    throw_input_error(source, 0, std::string("\"") + key + "\" must be a number");
  return value->get<double>();
}

bool bool_or(const Json& json, const char* key, bool fallback, const std::string& source) {
  const Json* value = find_key(json, key);
  if (!value) return fallback;
  if (!value->is_boolean())
    throw_input_error(source, 0, std::string("\"") + key + "\" must be true or false");
  return value->get<bool>();
}

std::string string_or(const Json& json, const char* key, const std::string& fallback,
                      const std::string& source) {
  const Json* value = find_key(json, key);
  if (!value) return fallback;
  if (!value->is_string())
    throw_input_error(source, 0, std::string("\"") + key + "\" must be a string");
  return value->get<std::string>();
}

// Older checkpoints (Qwen2.5) keep rope_theta and rope_scaling at top level; newer
// transformers write rope_parameters {rope_theta, rope_type, ...}.
const Json* rope_object(const Json& json, const std::string& source) {
  for (const char* key : {"rope_parameters", "rope_scaling"}) {
    const Json* rope = find_key(json, key);
    if (!rope) continue;
    if (!rope->is_object())
      throw_input_error(source, 0, std::string("\"") + key + "\" must be an object");
    return rope;
  }
  return nullptr;
}

double read_rope_theta(const Json& json, double fallback, const std::string& source) {
  const Json* rope = rope_object(json, source);
  if (rope && find_key(*rope, "rope_theta"))
    return number_or(*rope, "rope_theta", fallback, source);
  return number_or(json, "rope_theta", fallback, source);
}

std::vector<int64_t> read_token_ids(const Json* value) {
  std::vector<int64_t> ids;
  if (!value) return ids;
  if (value->is_number_integer()) ids.push_back(value->get<int64_t>());
  if (value->is_array())
    for (const auto& id : *value)
      if (id.is_number_integer()) ids.push_back(id.get<int64_t>());
  return ids;
}

}  // namespace

ModelConfig parse_model_config(const Json& json, const std::string& source) {
  if (!json.is_object()) throw_input_error(source, 0, "config is not a JSON object");
  ModelConfig config;
  config.raw = json;
  const Json* type = find_key(json, "model_type");
  if (!type || !type->is_string()) throw_input_error(source, 0, "missing \"model_type\"");
  config.model_type = type->get<std::string>();
  if (config.model_type != "qwen2" && config.model_type != "qwen3" && config.model_type != "llama")
    throw_input_error(source, 0,
                      "model_type \"" + config.model_type +
                          "\" is not supported (expected qwen2, qwen3 or llama)");
  config.vocab_size = positive_int(json, "vocab_size", source);
  config.hidden_size = positive_int(json, "hidden_size", source);
  config.intermediate_size = positive_int(json, "intermediate_size", source);
  config.num_hidden_layers = positive_int(json, "num_hidden_layers", source);
  config.num_attention_heads = positive_int(json, "num_attention_heads", source);
  config.num_key_value_heads =
      positive_int_or(json, "num_key_value_heads", config.num_attention_heads, source);
  if (config.num_attention_heads % config.num_key_value_heads != 0)
    throw_input_error(source, 0, "num_attention_heads must be a multiple of num_key_value_heads");
  if (!find_key(json, "head_dim") && config.hidden_size % config.num_attention_heads != 0)
    throw_input_error(source, 0, "hidden_size must be a multiple of num_attention_heads");
  config.head_dim =
      positive_int_or(json, "head_dim", config.hidden_size / config.num_attention_heads, source);
  if (config.head_dim % 2 != 0) throw_input_error(source, 0, "head_dim must be even for RoPE");
  config.max_position_embeddings = positive_int_or(json, "max_position_embeddings", 32768, source);
  config.rms_norm_eps = number_or(json, "rms_norm_eps", 1e-6, source);
  config.rope_theta = read_rope_theta(json, 10000.0, source);
  if (const Json* rope = rope_object(json, source))
    config.rope_scaling = parse_rope_scaling(*rope, config.max_position_embeddings, source);
  // Zero or negative values give a model of NaNs (RMSNorm) or a RoPE of NaN frequencies.
  if (!(config.rms_norm_eps > 0)) throw_input_error(source, 0, "\"rms_norm_eps\" must be positive");
  if (!(config.rope_theta > 0)) throw_input_error(source, 0, "\"rope_theta\" must be positive");
  config.tie_word_embeddings = bool_or(json, "tie_word_embeddings", false, source);
  std::string activation = string_or(json, "hidden_act", "silu", source);
  if (activation != "silu")
    throw_input_error(source, 0, "hidden_act \"" + activation + "\" is not supported (silu only)");
  if (bool_or(json, "use_sliding_window", false, source))
    throw_input_error(source, 0, "use_sliding_window=true is not supported");
  if (bool_or(json, "mlp_bias", false, source))
    throw_input_error(source, 0, "mlp_bias=true is not supported");

  if (config.model_type == "qwen2") {
    config.attention_bias = true;
  } else if (config.model_type == "qwen3") {
    config.qk_norm = true;
    config.attention_bias = bool_or(json, "attention_bias", false, source);
    config.o_proj_bias = config.attention_bias;
  } else {
    config.attention_bias = bool_or(json, "attention_bias", false, source);
    config.o_proj_bias = config.attention_bias;
  }
  if (const Json* dtype = find_key(json, "dtype"); dtype && dtype->is_string())
    config.dtype = dtype->get<std::string>();
  else if (const Json* torch_dtype = find_key(json, "torch_dtype");
           torch_dtype && torch_dtype->is_string())
    config.dtype = torch_dtype->get<std::string>();
  config.eos_token_ids = read_token_ids(find_key(json, "eos_token_id"));
  return config;
}

AttnImplementation parse_attn_implementation(const std::string& name, const std::string& where) {
  if (name == "auto") return AttnImplementation::automatic;
  if (name == "sdpa") return AttnImplementation::sdpa;
  if (name == "eager") return AttnImplementation::eager;
  throw InputError(where + ": attn_implementation \"" + name +
                   "\" is not one of auto, sdpa, eager");
}

const char* to_string(AttnImplementation value) {
  switch (value) {
    case AttnImplementation::automatic:
      return "auto";
    case AttnImplementation::sdpa:
      return "sdpa";
    case AttnImplementation::eager:
      return "eager";
  }
  return "auto";
}

ModelConfig load_model_config(const std::string& model_folder) {
  std::string path = (std::filesystem::path(model_folder) / "config.json").string();
  return parse_model_config(io::parse_json(io::read_file(path), path), path);
}

Json model_config_json(const ModelConfig& config, const std::string& dtype) {
  Json json = config.raw;
  json["torch_dtype"] = dtype;
  if (json.contains("dtype")) json["dtype"] = dtype;
  return json;
}

}  // namespace empo::model
