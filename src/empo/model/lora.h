#pragma once
// LoRA adapters on the decoder's linear layers, in PEFT's format: a targeted projection
// y = W x + b becomes y = W x + b + scaling * B (A dropout(x)), with A (r, in) and B (out, r).
// The base weights stay as they are (frozen while training); only A and B train. Adapter
// folders are PEFT's: adapter_config.json and adapter_model.safetensors with tensor names
// base_model.model.model.layers.<i>.<self_attn|mlp>.<module>.lora_<A|B>.weight, so
// peft.PeftModel.from_pretrained(base, folder) loads what empo writes and the other way round.
#include <torch/torch.h>

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "empo/model/lora_config.h"
#include "empo/model/weights.h"

namespace empo::model {

struct LoraPair {
  at::Tensor A;  // (r, in_features); undefined when the module is not targeted
  at::Tensor B;  // (out_features, r)
};

struct LoraAdapters {
  LoraSettings settings;
  std::vector<std::array<LoraPair, kLoraModuleCount>> layers;  // indexed by LoraModule
  // Training forwards draw lora_dropout masks; every other forward (generation, old and
  // reference log-probs, evaluation) runs without dropout, as PEFT's eval mode does.
  bool dropout_active = false;
  // The masks of one forward derive from this seed and the layer and module, so a gradient-
  // checkpointing replay draws the very masks of the first pass and a resumed run the same
  // masks as an uninterrupted one. The trainer sets it per micro-batch.
  uint64_t dropout_seed = 0;
};

// Fresh adapters for `model`'s architecture: A kaiming-uniform with a = sqrt(5) (PEFT's and
// nn.Linear's default, U(-1/sqrt(in), 1/sqrt(in))) from a generator seeded with `seed`, B
// zeros, so the adapted model starts equal to the base. In the model's dtype and device.
std::shared_ptr<LoraAdapters> init_lora(const Model& model, const LoraSettings& settings,
                                        uint64_t seed);

// The PEFT name of a tensor: base_model.model.model.layers.<i>.self_attn.q_proj.lora_A.weight.
std::string lora_tensor_name(size_t layer, LoraModule module, bool is_b);

// Visits every adapter tensor once under its PEFT name (A before B, layer by layer).
void for_each_lora_tensor(LoraAdapters& lora,
                          const std::function<void(const std::string&, at::Tensor&)>& visit);
std::vector<at::Tensor> lora_parameters(LoraAdapters& lora);

// `out` (the base projection of x) plus scaling * B (A dropout(x)) when `lora` adapts this
// layer's module; `out` unchanged otherwise (lora may be null).
at::Tensor add_lora(const at::Tensor& out, const at::Tensor& x, const LoraAdapters* lora,
                    size_t layer, LoraModule module);

// The adapter tensors of one layer (for gradient checkpointing's routing of gradients).
std::vector<at::Tensor> lora_layer_tensors(const LoraAdapters* lora, size_t layer);

// adapter_config.json + adapter_model.safetensors (file_dtype), each written atomically.
// base_model_name_or_path is recorded as PEFT records it.
void save_lora_adapter(const LoraAdapters& lora, const std::string& folder,
                       const std::string& base_model_name_or_path, at::ScalarType file_dtype);

// The settings of a PEFT adapter folder's adapter_config.json, checked against `config`:
// an InputError names the file and what was expected for a non-LoRA peft_type, features empo
// does not implement (DoRA, bias training, rank/alpha patterns, modules_to_save, ...), or
// target modules the model lacks.
LoraSettings read_lora_config(const std::string& folder, const ModelConfig& config);

// Reads a PEFT adapter folder for `base` (in options' dtype/device). Missing, extra or
// mis-shaped tensors (e.g. a rank that differs from adapter_config.json's r) are InputErrors
// naming the file and the tensor.
std::shared_ptr<LoraAdapters> load_lora_adapter(const std::string& folder, const Model& base,
                                                const LoadOptions& options = {});

// A plain model with the adapters folded in: W + scaling * B A for every adapted module
// (new tensors; `model`'s are untouched). Without adapters, a copy sharing the weights.
Model merge_lora(const Model& model);

// `empo merge`: base folder + adapter folder -> a plain Hugging Face folder (config.json,
// model.safetensors in the base's dtype, and the base's tokenizer and generation files),
// merged in float32 and published whole (io::publish_folder).
void merge_adapter_folder(const std::string& base_folder, const std::string& adapter_folder,
                          const std::string& output_folder);

// The same model with its adapters off: it shares every base tensor (no copy), so it serves
// as the frozen reference of a LoRA run.
Model without_lora(const Model& model);

}  // namespace empo::model
