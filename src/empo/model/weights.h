#pragma once
// A model's parameters as plain tensors named after Hugging Face's keys, with one visitor
// (for_each_parameter) that load, save, the optimizer and the gradient checks all share.
#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "empo/model/config.h"

namespace empo::model {

struct LayerWeights {
  at::Tensor input_norm;              // (C)
  at::Tensor q_proj, k_proj, v_proj;  // (H*D, C), (Hkv*D, C), (Hkv*D, C)
  at::Tensor q_bias, k_bias, v_bias;  // (H*D), (Hkv*D), (Hkv*D); undefined without bias
  at::Tensor o_proj;                  // (C, H*D)
  at::Tensor o_bias;                  // (C); Llama with attention_bias only
  at::Tensor q_norm, k_norm;          // (D); Qwen3 only
  at::Tensor post_attention_norm;     // (C)
  at::Tensor gate_proj, up_proj;      // (F, C)
  at::Tensor down_proj;               // (C, F)
};

struct LoraAdapters;  // lora.h

struct Weights {
  at::Tensor embed_tokens;  // (V, C)
  std::vector<LayerWeights> layers;
  at::Tensor norm;     // (C)
  at::Tensor lm_head;  // (V, C); the same tensor as embed_tokens when tied
};

struct Model {
  ModelConfig config;
  Weights weights;
  // How forward passes run (not part of config.json).
  AttnImplementation attn_implementation = AttnImplementation::automatic;
  // Training only: keep each decoder layer's input and recompute the layer in backward
  // (transformers' gradient_checkpointing), trading a second forward for the activations.
  bool gradient_checkpointing = false;
  // LoRA adapters added to the decoder's linear layers (lora.h); null: the plain model. Copies
  // of a Model share them, as they share the weights.
  std::shared_ptr<LoraAdapters> lora;
};

// Visits every parameter once under its Hugging Face name (a tied lm_head is not visited
// separately). Undefined optional tensors are skipped.
void for_each_parameter(Weights& weights, const ModelConfig& config,
                        const std::function<void(const std::string&, at::Tensor&)>& visit);
std::vector<at::Tensor> parameters(Model& model);

struct LoadOptions {
  at::ScalarType dtype = at::kFloat;  // compute dtype (bf16 files become f32 on CPU)
  at::Device device = at::kCPU;
  AttnImplementation attn_implementation = AttnImplementation::automatic;
};

// Reads config.json and the safetensors (single file or sharded). Missing, extra-shaped or
// mistyped tensors are InputErrors naming the file and the tensor.
Model load_model(const std::string& folder, const LoadOptions& options = {});

// Writes config.json and model.safetensors atomically (each file via temp + rename).
void save_model(const Model& model, const std::string& folder, at::ScalarType file_dtype);

// A model with random weights (benchmarks, tests), N(0, 0.02) like HF's initialiser.
Model random_model(const ModelConfig& config, uint64_t seed, const LoadOptions& options = {});

// A deep copy with gradients off (the frozen reference / old policy).
Model clone_model(const Model& model);

at::ScalarType parse_dtype_name(const std::string& name);  // float32 | bfloat16 | float16

// Every tensor of one safetensors file, any supported dtype, on the CPU (goldens, trainer
// state); and the atomic write of such a map.
std::map<std::string, at::Tensor> load_tensor_file(const std::string& path);
void save_tensor_file(const std::string& path, const std::map<std::string, at::Tensor>& tensors);

}  // namespace empo::model
