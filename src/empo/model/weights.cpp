#include "empo/model/weights.h"

#include <filesystem>

#include "empo/io/error.h"
#include "empo/io/jsonl.h"
#include "empo/io/safetensors.h"

namespace empo::model {

namespace {

// Name, expected shape and slot of every parameter, in the order HF lists them.
struct ParameterSlot {
  std::string name;
  std::vector<int64_t> shape;
  at::Tensor* tensor;
};

std::vector<ParameterSlot> parameter_slots(Weights& weights, const ModelConfig& config) {
  const int64_t C = config.hidden_size, V = config.vocab_size, F = config.intermediate_size;
  const int64_t q_size = config.num_attention_heads * config.head_dim;
  const int64_t kv_size = config.num_key_value_heads * config.head_dim;
  weights.layers.resize(config.num_hidden_layers);
  std::vector<ParameterSlot> slots;
  slots.push_back({"model.embed_tokens.weight", {V, C}, &weights.embed_tokens});
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    auto& layer = weights.layers[i];
    std::string prefix = "model.layers." + std::to_string(i) + ".";
    slots.push_back({prefix + "input_layernorm.weight", {C}, &layer.input_norm});
    slots.push_back({prefix + "self_attn.q_proj.weight", {q_size, C}, &layer.q_proj});
    slots.push_back({prefix + "self_attn.k_proj.weight", {kv_size, C}, &layer.k_proj});
    slots.push_back({prefix + "self_attn.v_proj.weight", {kv_size, C}, &layer.v_proj});
    if (config.attention_bias) {
      slots.push_back({prefix + "self_attn.q_proj.bias", {q_size}, &layer.q_bias});
      slots.push_back({prefix + "self_attn.k_proj.bias", {kv_size}, &layer.k_bias});
      slots.push_back({prefix + "self_attn.v_proj.bias", {kv_size}, &layer.v_bias});
    }
    slots.push_back({prefix + "self_attn.o_proj.weight", {C, q_size}, &layer.o_proj});
    if (config.o_proj_bias) slots.push_back({prefix + "self_attn.o_proj.bias", {C}, &layer.o_bias});
    if (config.qk_norm) {
      slots.push_back({prefix + "self_attn.q_norm.weight", {config.head_dim}, &layer.q_norm});
      slots.push_back({prefix + "self_attn.k_norm.weight", {config.head_dim}, &layer.k_norm});
    }
    slots.push_back({prefix + "post_attention_layernorm.weight", {C}, &layer.post_attention_norm});
    slots.push_back({prefix + "mlp.gate_proj.weight", {F, C}, &layer.gate_proj});
    slots.push_back({prefix + "mlp.up_proj.weight", {F, C}, &layer.up_proj});
    slots.push_back({prefix + "mlp.down_proj.weight", {C, F}, &layer.down_proj});
  }
  slots.push_back({"model.norm.weight", {C}, &weights.norm});
  if (!config.tie_word_embeddings) slots.push_back({"lm_head.weight", {V, C}, &weights.lm_head});
  return slots;
}

at::ScalarType to_scalar_type(io::DType dtype) {
  switch (dtype) {
    case io::DType::F32:
      return at::kFloat;
    case io::DType::F16:
      return at::kHalf;
    case io::DType::BF16:
      return at::kBFloat16;
    case io::DType::I64:
      return at::kLong;
    case io::DType::I32:
      return at::kInt;
    case io::DType::U8:
      return at::kByte;
    case io::DType::BOOL:
      return at::kBool;
  }
  return at::kFloat;
}

io::DType to_file_dtype(at::ScalarType type) {
  switch (type) {
    case at::kFloat:
      return io::DType::F32;
    case at::kHalf:
      return io::DType::F16;
    case at::kBFloat16:
      return io::DType::BF16;
    case at::kLong:
      return io::DType::I64;
    case at::kInt:
      return io::DType::I32;
    case at::kByte:
      return io::DType::U8;
    case at::kBool:
      return io::DType::BOOL;
    default:
      throw std::logic_error("unsupported dtype for a safetensors file");
  }
}

at::Tensor view_tensor(const io::SafetensorsFile& file, const io::TensorInfo& info) {
  return at::from_blob(const_cast<uint8_t*>(file.data(info)), info.shape,
                       at::TensorOptions().dtype(to_scalar_type(info.dtype)));
}

// Host copies kept alive while their bytes are written.
// Tensors already in host memory in the file's dtype are written from where they are; the rest
// (device tensors, other dtypes) are converted one at a time as the writer reaches them.
struct HostTensors {
  std::vector<io::TensorToWrite> tensors;
  void add(const std::string& name, const at::Tensor& tensor, at::ScalarType dtype) {
    at::Tensor source = tensor.detach();
    const size_t nbytes = static_cast<size_t>(source.numel()) * c10::elementSize(dtype);
    io::TensorToWrite entry{name, to_file_dtype(dtype),
                            std::vector<int64_t>(source.sizes().begin(), source.sizes().end()),
                            nullptr, nbytes};
    if (source.device().is_cpu() && source.scalar_type() == dtype && source.is_contiguous()) {
      entry.data = source.data_ptr();
      entry.write = [source](std::ostream&) {};  // keeps the tensor alive until written
    } else {
      entry.write = [source, dtype](std::ostream& out) {
        at::Tensor host = source.to(at::kCPU, dtype).contiguous();
        out.write(static_cast<const char*>(host.data_ptr()),
                  static_cast<std::streamsize>(host.numel() * host.element_size()));
      };
    }
    tensors.push_back(std::move(entry));
  }
};

std::string shape_text(at::IntArrayRef shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

// Training from NaN/Inf weights would only spread them: refuse the file, naming the tensor.
void require_finite(const std::string& path, const std::string& name, const at::Tensor& tensor) {
  if (!at::isfinite(tensor).all().item<bool>())
    throw_input_error(path, 0, "tensor \"" + name + "\" holds NaN or Inf values");
}

at::Tensor read_tensor(const io::TensorStore& store, const std::string& name,
                       const std::vector<int64_t>& shape, const LoadOptions& options) {
  auto entry = store.find(name);
  if (!entry.file) throw InputError("checkpoint: missing tensor \"" + name + "\"");
  const auto& info = *entry.info;
  if (info.shape != shape)
    throw_input_error(entry.file->path(), 0,
                      "tensor \"" + name + "\" has shape " + shape_text(info.shape) +
                          ", expected " + shape_text(shape));
  if (info.dtype != io::DType::F32 && info.dtype != io::DType::BF16 && info.dtype != io::DType::F16)
    throw_input_error(entry.file->path(), 0,
                      "tensor \"" + name + "\" has dtype " + io::dtype_name(info.dtype) +
                          ", expected a floating-point dtype");
  // A view of the read-only mapping; the copy owns its memory.
  auto tensor = view_tensor(*entry.file, info)
                    .to(options.device, options.dtype, /*non_blocking=*/false, /*copy=*/true);
  require_finite(entry.file->path(), name, tensor);
  return tensor;
}

}  // namespace

void for_each_parameter(Weights& weights, const ModelConfig& config,
                        const std::function<void(const std::string&, at::Tensor&)>& visit) {
  for (auto& slot : parameter_slots(weights, config))
    if (slot.tensor->defined()) visit(slot.name, *slot.tensor);
}

std::vector<at::Tensor> parameters(Model& model) {
  std::vector<at::Tensor> result;
  for_each_parameter(model.weights, model.config,
                     [&](const std::string&, at::Tensor& tensor) { result.push_back(tensor); });
  return result;
}

Model load_model(const std::string& folder, const LoadOptions& options) {
  Model model;
  model.config = load_model_config(folder);
  model.attn_implementation = options.attn_implementation;
  auto store = io::TensorStore::open_folder(folder);
  at::NoGradGuard no_grad;
  for (auto& slot : parameter_slots(model.weights, model.config))
    *slot.tensor = read_tensor(store, slot.name, slot.shape, options);
  if (model.config.tie_word_embeddings) model.weights.lm_head = model.weights.embed_tokens;
  return model;
}

void save_model(const Model& model, const std::string& folder, at::ScalarType file_dtype) {
  std::filesystem::create_directories(folder);
  HostTensors host;
  auto& weights = const_cast<Weights&>(model.weights);
  for_each_parameter(weights, model.config, [&](const std::string& name, at::Tensor& tensor) {
    host.add(name, tensor, file_dtype);
  });
  io::write_safetensors(folder + "/model.safetensors", host.tensors, {{"format", "pt"}});
  std::string dtype_name = file_dtype == at::kBFloat16 ? "bfloat16"
                           : file_dtype == at::kHalf   ? "float16"
                                                       : "float32";
  io::write_file_atomic(folder + "/config.json",
                        model_config_json(model.config, dtype_name).dump(2) + "\n");
}

Model random_model(const ModelConfig& config, uint64_t seed, const LoadOptions& options) {
  Model model;
  model.config = config;
  model.attn_implementation = options.attn_implementation;
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  at::NoGradGuard no_grad;
  for (auto& slot : parameter_slots(model.weights, model.config)) {
    bool is_norm = slot.shape.size() == 1 && slot.name.find("bias") == std::string::npos;
    at::Tensor tensor =
        is_norm ? at::ones(slot.shape) : at::normal(0.0, 0.02, slot.shape, generator);
    if (slot.name.find("bias") != std::string::npos) tensor.zero_();
    *slot.tensor = tensor.to(options.device, options.dtype);
  }
  if (config.tie_word_embeddings) model.weights.lm_head = model.weights.embed_tokens;
  return model;
}

Model clone_model(const Model& model) {
  Model copy;
  copy.config = model.config;
  copy.attn_implementation = model.attn_implementation;
  auto source = parameter_slots(const_cast<Weights&>(model.weights), model.config);
  auto target = parameter_slots(copy.weights, copy.config);
  for (size_t i = 0; i < source.size(); ++i) *target[i].tensor = source[i].tensor->detach().clone();
  if (copy.config.tie_word_embeddings) copy.weights.lm_head = copy.weights.embed_tokens;
  return copy;
}

std::map<std::string, at::Tensor> load_tensor_file(const std::string& path) {
  auto file = io::SafetensorsFile::open(path);
  std::map<std::string, at::Tensor> tensors;
  for (const auto& info : file->tensors()) {
    auto tensor = view_tensor(*file, info).clone();
    if (tensor.is_floating_point()) require_finite(path, info.name, tensor);
    tensors[info.name] = tensor;
  }
  return tensors;
}

void save_tensor_file(const std::string& path, const std::map<std::string, at::Tensor>& tensors) {
  HostTensors host;
  for (const auto& [name, tensor] : tensors) host.add(name, tensor, tensor.scalar_type());
  io::write_safetensors(path, host.tensors);
}

at::ScalarType parse_dtype_name(const std::string& name) {
  if (name == "float32" || name == "fp32") return at::kFloat;
  if (name == "bfloat16" || name == "bf16") return at::kBFloat16;
  if (name == "float16" || name == "fp16") return at::kHalf;
  throw InputError("unknown dtype \"" + name + "\" (expected float32, bfloat16 or float16)");
}

}  // namespace empo::model
