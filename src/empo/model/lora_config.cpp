#include "empo/model/lora_config.h"

#include <algorithm>
#include <cmath>

#include "empo/io/error.h"

namespace empo::model {

const char* lora_module_name(LoraModule module) {
  switch (module) {
    case LoraModule::q_proj:
      return "q_proj";
    case LoraModule::k_proj:
      return "k_proj";
    case LoraModule::v_proj:
      return "v_proj";
    case LoraModule::o_proj:
      return "o_proj";
    case LoraModule::gate_proj:
      return "gate_proj";
    case LoraModule::up_proj:
      return "up_proj";
    case LoraModule::down_proj:
      return "down_proj";
  }
  return "?";
}

std::string lora_module_path(LoraModule module) {
  const bool attention = module == LoraModule::q_proj || module == LoraModule::k_proj ||
                         module == LoraModule::v_proj || module == LoraModule::o_proj;
  return std::string(attention ? "self_attn." : "mlp.") + lora_module_name(module);
}

const std::vector<LoraModule>& all_lora_modules() {
  static const std::vector<LoraModule> modules = {
      LoraModule::q_proj,    LoraModule::k_proj,  LoraModule::v_proj,   LoraModule::o_proj,
      LoraModule::gate_proj, LoraModule::up_proj, LoraModule::down_proj};
  return modules;
}

std::vector<LoraModule> resolve_lora_targets(const std::vector<std::string>& names,
                                             const std::string& where) {
  if (names.size() == 1 && names[0] == "all-linear") return all_lora_modules();
  std::vector<LoraModule> targets;
  for (const auto& name : names) {
    auto found = std::find_if(all_lora_modules().begin(), all_lora_modules().end(),
                              [&](LoraModule module) { return name == lora_module_name(module); });
    if (found == all_lora_modules().end())
      throw InputError(where + ": unknown target module \"" + name +
                       "\" (expected q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, "
                       "down_proj, or the single entry all-linear)");
    if (std::find(targets.begin(), targets.end(), *found) == targets.end())
      targets.push_back(*found);
  }
  if (targets.empty()) throw InputError(where + ": no target modules");
  std::sort(targets.begin(), targets.end());
  return targets;
}

double LoraSettings::scaling() const {
  const double rank = static_cast<double>(r);
  return use_rslora ? alpha / std::sqrt(rank) : alpha / rank;
}

bool LoraSettings::targets_module(LoraModule module) const {
  return std::find(targets.begin(), targets.end(), module) != targets.end();
}

std::pair<int64_t, int64_t> lora_module_features(const ModelConfig& config, LoraModule module) {
  const int64_t C = config.hidden_size, F = config.intermediate_size;
  const int64_t q_size = config.num_attention_heads * config.head_dim;
  const int64_t kv_size = config.num_key_value_heads * config.head_dim;
  switch (module) {
    case LoraModule::q_proj:
      return {C, q_size};
    case LoraModule::k_proj:
    case LoraModule::v_proj:
      return {C, kv_size};
    case LoraModule::o_proj:
      return {q_size, C};
    case LoraModule::gate_proj:
    case LoraModule::up_proj:
      return {C, F};
    case LoraModule::down_proj:
      return {F, C};
  }
  return {0, 0};
}

int64_t lora_parameter_count(const ModelConfig& config, const LoraSettings& settings) {
  int64_t per_layer = 0;
  for (auto module : settings.targets) {
    auto [in_features, out_features] = lora_module_features(config, module);
    per_layer += settings.r * (in_features + out_features);
  }
  return per_layer * config.num_hidden_layers;
}

}  // namespace empo::model
