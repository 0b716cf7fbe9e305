#pragma once
// What a LoRA adapter targets and how it is scaled, in PEFT's terms (LoraConfig): rank r,
// lora_alpha, lora_dropout and the target modules. Torch-free, so configs and the memory
// planner can count adapter parameters without compiling torch.
#include <cstdint>
#include <string>
#include <vector>

#include "empo/model/config.h"

namespace empo::model {

// The decoder's linear layers an adapter can wrap (PEFT's "all-linear" for these families:
// every Linear of the decoder layers, never lm_head).
enum class LoraModule { q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj };
constexpr int kLoraModuleCount = 7;

const char* lora_module_name(LoraModule module);  // "q_proj"
// The module's path inside a decoder layer: "self_attn.q_proj", "mlp.gate_proj".
std::string lora_module_path(LoraModule module);
const std::vector<LoraModule>& all_lora_modules();

// Module names as config keys give them: short names (q_proj, ...) or the single entry
// "all-linear". Anything else is an InputError naming `where` and the accepted names.
std::vector<LoraModule> resolve_lora_targets(const std::vector<std::string>& names,
                                             const std::string& where);

struct LoraSettings {
  int64_t r = 0;  // rank; 0: no adapters
  double alpha = 8.0;
  double dropout = 0.0;
  bool use_rslora = false;          // scaling alpha / sqrt(r) instead of alpha / r
  std::vector<LoraModule> targets;  // in LoraModule order, no repeats
  double scaling() const;
  bool targets_module(LoraModule module) const;
};

// (in_features, out_features) of a module's weight in this architecture.
std::pair<int64_t, int64_t> lora_module_features(const ModelConfig& config, LoraModule module);

// Trainable parameters of adapters with these settings: per layer and targeted module,
// r * (in_features + out_features) (A is r x in, B is out x r).
int64_t lora_parameter_count(const ModelConfig& config, const LoraSettings& settings);

}  // namespace empo::model
