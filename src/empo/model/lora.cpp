#include "empo/model/lora.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "empo/io/durable.h"
#include "empo/io/error.h"
#include "empo/io/jsonl.h"
#include "empo/io/model_files.h"
#include "empo/model/device.h"

namespace empo::model {

namespace fs = std::filesystem;

namespace {

constexpr char kAdapterConfig[] = "adapter_config.json";
constexpr char kAdapterWeights[] = "adapter_model.safetensors";

at::Tensor& module_weight(LayerWeights& layer, LoraModule module) {
  switch (module) {
    case LoraModule::q_proj:
      return layer.q_proj;
    case LoraModule::k_proj:
      return layer.k_proj;
    case LoraModule::v_proj:
      return layer.v_proj;
    case LoraModule::o_proj:
      return layer.o_proj;
    case LoraModule::gate_proj:
      return layer.gate_proj;
    case LoraModule::up_proj:
      return layer.up_proj;
    case LoraModule::down_proj:
      return layer.down_proj;
  }
  return layer.q_proj;
}

// splitmix64's finaliser: decorrelates the dropout streams of neighbouring layers/modules.
// (model/ sits below generate/, whose mix_seed it cannot use.)
uint64_t mix(uint64_t a, uint64_t b) {
  uint64_t z = a + 0x9E3779B97F4A7C15ull * (b + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::string module_key(size_t layer, LoraModule module) {
  return "model.layers." + std::to_string(layer) + "." + lora_module_path(module);
}

std::string shape_text(at::IntArrayRef shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

using Json = nlohmann::json;

const Json* find_key(const Json& json, const char* key) {
  auto found = json.find(key);
  return found == json.end() || found->is_null() ? nullptr : &*found;
}

// Which (layer, module) pairs a PEFT target_modules value selects in this architecture.
// PEFT matches a list entry against a module's full name exactly or as a dotted suffix
// ("q_proj", "self_attn.q_proj", "model.layers.0.self_attn.q_proj"); "all-linear" is every
// linear layer but the output head.
struct TargetedModules {
  std::vector<std::array<bool, kLoraModuleCount>> layers;
};

TargetedModules match_targets(const Json& targets, const ModelConfig& config,
                              const std::string& path) {
  TargetedModules matched;
  matched.layers.assign(config.num_hidden_layers, {});
  auto select_all = [&] {
    for (auto& layer : matched.layers) layer.fill(true);
  };
  if (targets.is_string()) {
    if (targets.get<std::string>() != "all-linear")
      throw_input_error(path, 0,
                        "target_modules \"" + targets.get<std::string>() +
                            "\": a regular expression is not supported (expected a list of "
                            "module names or \"all-linear\")");
    select_all();
    return matched;
  }
  if (!targets.is_array() || targets.empty())
    throw_input_error(path, 0, "target_modules must be a non-empty list of module names");
  for (const auto& entry : targets) {
    if (!entry.is_string())
      throw_input_error(path, 0, "target_modules entries must be strings, got " + entry.dump());
    const std::string name = entry.get<std::string>();
    if (name == "all-linear") {
      select_all();
      continue;
    }
    bool found = false;
    for (int64_t layer = 0; layer < config.num_hidden_layers; ++layer)
      for (auto module : all_lora_modules()) {
        const std::string key = module_key(static_cast<size_t>(layer), module);
        const bool same = key == name;
        const bool suffix = key.size() > name.size() &&
                            key.compare(key.size() - name.size(), name.size(), name) == 0 &&
                            key[key.size() - name.size() - 1] == '.';
        if (same || suffix) matched.layers[layer][static_cast<int>(module)] = found = true;
      }
    if (!found)
      throw_input_error(path, 0,
                        "target_modules names \"" + name + "\", which this " + config.model_type +
                            " model (" + std::to_string(config.num_hidden_layers) +
                            " layers) lacks; expected module names such as q_proj, k_proj, "
                            "v_proj, o_proj, gate_proj, up_proj, down_proj");
  }
  return matched;
}

struct AdapterFile {
  LoraSettings settings;
  TargetedModules targeted;
};

// A feature of PEFT's config that changes the adapter's meaning and that empo does not
// implement must not be silently ignored.
void require_unset(const Json& json, const char* key, const std::string& path,
                   const std::string& expected) {
  const Json* value = find_key(json, key);
  if (!value) return;
  const bool unset = (value->is_boolean() && !value->get<bool>()) ||
                     ((value->is_object() || value->is_array()) && value->empty()) ||
                     (value->is_string() && value->get<std::string>() == "none");
  if (!unset)
    throw_input_error(path, 0,
                      std::string("\"") + key + "\" is " + value->dump() + ", expected " +
                          expected + " (not supported by empo)");
}

AdapterFile read_adapter_file(const std::string& folder, const ModelConfig& config) {
  const std::string path = (fs::path(folder) / kAdapterConfig).string();
  if (!fs::exists(path))
    throw InputError(folder + ": not a PEFT adapter folder (no " + kAdapterConfig + ")");
  const Json json = io::parse_json(io::read_file(path), path);
  if (!json.is_object()) throw_input_error(path, 0, "expected a JSON object");
  const Json* type = find_key(json, "peft_type");
  if (!type || !type->is_string() || type->get<std::string>() != "LORA")
    throw_input_error(path, 0,
                      "\"peft_type\" is " + (type ? type->dump() : std::string("missing")) +
                          ", expected \"LORA\"");
  AdapterFile file;
  const Json* r = find_key(json, "r");
  if (!r || !r->is_number_integer() || r->get<int64_t>() <= 0)
    throw_input_error(
        path, 0,
        "\"r\" is " + (r ? r->dump() : std::string("missing")) + ", expected a positive integer");
  file.settings.r = r->get<int64_t>();
  if (const Json* alpha = find_key(json, "lora_alpha")) {
    if (!alpha->is_number()) throw_input_error(path, 0, "\"lora_alpha\" must be a number");
    file.settings.alpha = alpha->get<double>();
  }
  if (const Json* dropout = find_key(json, "lora_dropout")) {
    if (!dropout->is_number() || dropout->get<double>() < 0 || dropout->get<double>() >= 1)
      throw_input_error(path, 0, "\"lora_dropout\" must be a number in [0, 1)");
    file.settings.dropout = dropout->get<double>();
  }
  if (const Json* rslora = find_key(json, "use_rslora")) {
    if (!rslora->is_boolean()) throw_input_error(path, 0, "\"use_rslora\" must be true or false");
    file.settings.use_rslora = rslora->get<bool>();
  }
  require_unset(json, "use_dora", path, "false");
  require_unset(json, "fan_in_fan_out", path, "false");
  require_unset(json, "bias", path, "\"none\"");
  require_unset(json, "lora_bias", path, "false");
  require_unset(json, "modules_to_save", path, "null");
  require_unset(json, "rank_pattern", path, "{}");
  require_unset(json, "alpha_pattern", path, "{}");
  require_unset(json, "layers_to_transform", path, "null");
  require_unset(json, "layer_replication", path, "null");
  require_unset(json, "target_parameters", path, "null");
  require_unset(json, "trainable_token_indices", path, "null");
  require_unset(json, "exclude_modules", path, "null");
  require_unset(json, "alora_invocation_tokens", path, "null");
  require_unset(json, "use_qalora", path, "false");
  const Json* targets = find_key(json, "target_modules");
  if (!targets) throw_input_error(path, 0, "missing \"target_modules\"");
  file.targeted = match_targets(*targets, config, path);
  for (auto module : all_lora_modules()) {
    bool any = false;
    for (const auto& layer : file.targeted.layers) any = any || layer[static_cast<int>(module)];
    if (any) file.settings.targets.push_back(module);
  }
  return file;
}

}  // namespace

std::string lora_tensor_name(size_t layer, LoraModule module, bool is_b) {
  return "base_model.model." + module_key(layer, module) + (is_b ? ".lora_B" : ".lora_A") +
         ".weight";
}

std::shared_ptr<LoraAdapters> init_lora(const Model& model, const LoraSettings& settings,
                                        uint64_t seed) {
  if (settings.r <= 0) throw std::logic_error("init_lora: r must be positive");
  auto lora = std::make_shared<LoraAdapters>();
  lora->settings = settings;
  lora->layers.resize(model.config.num_hidden_layers);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto options = model.weights.embed_tokens.options().requires_grad(false);
  at::NoGradGuard no_grad;
  for (size_t layer = 0; layer < lora->layers.size(); ++layer)
    for (auto module : settings.targets) {
      auto [in_features, out_features] = lora_module_features(model.config, module);
      // kaiming_uniform_(a = sqrt(5)): gain sqrt(2 / (1 + 5)), bound gain * sqrt(3 / fan_in).
      const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
      auto& pair = lora->layers[layer][static_cast<int>(module)];
      pair.A = at::empty({settings.r, in_features}, at::kFloat)
                   .uniform_(-bound, bound, generator)
                   .to(options.device(), options.dtype().toScalarType());
      pair.B = at::zeros({out_features, settings.r}, options);
    }
  return lora;
}

void for_each_lora_tensor(LoraAdapters& lora,
                          const std::function<void(const std::string&, at::Tensor&)>& visit) {
  for (size_t layer = 0; layer < lora.layers.size(); ++layer)
    for (auto module : all_lora_modules()) {
      auto& pair = lora.layers[layer][static_cast<int>(module)];
      if (!pair.A.defined()) continue;
      visit(lora_tensor_name(layer, module, false), pair.A);
      visit(lora_tensor_name(layer, module, true), pair.B);
    }
}

std::vector<at::Tensor> lora_parameters(LoraAdapters& lora) {
  std::vector<at::Tensor> tensors;
  for_each_lora_tensor(lora,
                       [&](const std::string&, at::Tensor& tensor) { tensors.push_back(tensor); });
  return tensors;
}

at::Tensor add_lora(const at::Tensor& out, const at::Tensor& x, const LoraAdapters* lora,
                    size_t layer, LoraModule module) {
  if (!lora) return out;
  const auto& pair = lora->layers[layer][static_cast<int>(module)];
  if (!pair.A.defined()) return out;
  at::Tensor input = x;  // (..., in)
  const double p = lora->settings.dropout;
  if (lora->dropout_active && p > 0) {
    // Drawn where x lives from a generator seeded per (step, micro-batch, layer, module): the
    // same masks on every replay (gradient checkpointing, resume). On CUDA in x's dtype, so no
    // activation-sized host tensor is drawn and copied per module.
    const uint64_t seed = mix(mix(lora->dropout_seed, layer), static_cast<uint64_t>(module));
    auto generator = seeded_generator(x.device(), seed);
    const auto mask_dtype = x.is_cuda() ? x.scalar_type() : at::kFloat;
    auto keep = at::empty(x.sizes(), x.options().dtype(mask_dtype)).bernoulli_(1.0 - p, generator);
    input = x * keep.div_(1.0 - p).to(x.scalar_type());
  }
  auto delta = at::linear(at::linear(input, pair.A), pair.B);  // (..., out)
  return at::add(out, delta, lora->settings.scaling());        // one pass: out + scaling * delta
}

std::vector<at::Tensor> lora_layer_tensors(const LoraAdapters* lora, size_t layer) {
  std::vector<at::Tensor> tensors;
  if (!lora) return tensors;
  for (const auto& pair : lora->layers[layer])
    if (pair.A.defined()) tensors.insert(tensors.end(), {pair.A, pair.B});
  return tensors;
}

void save_lora_adapter(const LoraAdapters& lora, const std::string& folder,
                       const std::string& base_model_name_or_path, at::ScalarType file_dtype) {
  fs::create_directories(folder);
  std::map<std::string, at::Tensor> tensors;
  for_each_lora_tensor(const_cast<LoraAdapters&>(lora),
                       [&](const std::string& name, at::Tensor& tensor) {
                         tensors[name] = tensor.detach().to(at::kCPU, file_dtype);
                       });
  save_tensor_file((fs::path(folder) / kAdapterWeights).string(), tensors);
  Json targets = Json::array();
  for (auto module : lora.settings.targets) targets.push_back(lora_module_name(module));
  const double alpha = lora.settings.alpha;
  Json config = {
      {"peft_type", "LORA"},
      {"task_type", "CAUSAL_LM"},
      {"base_model_name_or_path", base_model_name_or_path},
      {"r", lora.settings.r},
      // PEFT writes an integral alpha as an integer.
      {"lora_alpha", alpha == std::floor(alpha) ? Json(static_cast<int64_t>(alpha)) : Json(alpha)},
      {"lora_dropout", lora.settings.dropout},
      {"target_modules", targets},
      {"bias", "none"},
      {"fan_in_fan_out", false},
      {"use_rslora", lora.settings.use_rslora},
      {"use_dora", false},
      {"init_lora_weights", true},
      {"inference_mode", true},
      {"modules_to_save", nullptr},
      {"layers_to_transform", nullptr},
      {"layers_pattern", nullptr},
      {"rank_pattern", Json::object()},
      {"alpha_pattern", Json::object()},
      {"revision", nullptr}};
  io::write_file_atomic((fs::path(folder) / kAdapterConfig).string(), config.dump(2) + "\n");
}

LoraSettings read_lora_config(const std::string& folder, const ModelConfig& config) {
  return read_adapter_file(folder, config).settings;
}

std::shared_ptr<LoraAdapters> load_lora_adapter(const std::string& folder, const Model& base,
                                                const LoadOptions& options) {
  const auto file = read_adapter_file(folder, base.config);
  const std::string path = (fs::path(folder) / kAdapterWeights).string();
  if (!fs::exists(path))
    throw InputError(folder + ": not a PEFT adapter folder (no " + kAdapterWeights + ")");
  auto tensors = load_tensor_file(path);
  auto lora = std::make_shared<LoraAdapters>();
  lora->settings = file.settings;
  lora->layers.resize(base.config.num_hidden_layers);
  const int64_t r = file.settings.r;
  auto take = [&](const std::string& name, std::vector<int64_t> shape) {
    auto found = tensors.find(name);
    if (found == tensors.end())
      throw_input_error(path, 0,
                        "missing tensor \"" + name + "\" (adapter_config.json targets its module)");
    auto tensor = found->second;
    tensors.erase(found);
    if (!tensor.is_floating_point())
      throw_input_error(path, 0, "tensor \"" + name + "\" is not floating-point");
    if (!tensor.sizes().equals(shape))
      throw_input_error(path, 0,
                        "tensor \"" + name + "\" has shape " + shape_text(tensor.sizes()) +
                            ", expected " + shape_text(shape) + " (r = " + std::to_string(r) +
                            " in adapter_config.json)");
    return tensor.to(options.device, options.dtype);
  };
  for (size_t layer = 0; layer < lora->layers.size(); ++layer)
    for (auto module : all_lora_modules()) {
      if (!file.targeted.layers[layer][static_cast<int>(module)]) continue;
      auto [in_features, out_features] = lora_module_features(base.config, module);
      auto& pair = lora->layers[layer][static_cast<int>(module)];
      pair.A = take(lora_tensor_name(layer, module, false), {r, in_features});
      pair.B = take(lora_tensor_name(layer, module, true), {out_features, r});
    }
  if (!tensors.empty())
    throw_input_error(path, 0,
                      "unexpected tensor \"" + tensors.begin()->first +
                          "\" (not a LoRA tensor of a module adapter_config.json targets)");
  return lora;
}

Model merge_lora(const Model& model) {
  Model merged = model;
  merged.lora.reset();
  if (!model.lora) return merged;
  at::NoGradGuard no_grad;
  const double scaling = model.lora->settings.scaling();
  for (size_t layer = 0; layer < merged.weights.layers.size(); ++layer)
    for (auto module : all_lora_modules()) {
      const auto& pair = model.lora->layers[layer][static_cast<int>(module)];
      if (!pair.A.defined()) continue;
      auto& weight = module_weight(merged.weights.layers[layer], module);  // (out, in)
      auto delta = at::matmul(pair.B.to(at::kFloat), pair.A.to(at::kFloat)) * scaling;
      weight = (weight.detach().to(at::kFloat) + delta).to(weight.scalar_type());
    }
  return merged;
}

void merge_adapter_folder(const std::string& base_folder, const std::string& adapter_folder,
                          const std::string& output_folder) {
  auto base = load_model(base_folder, {at::kFloat, at::kCPU});
  const auto file_dtype = parse_dtype_name(base.config.dtype);
  base.lora = load_lora_adapter(adapter_folder, base, {at::kFloat, at::kCPU});
  const auto merged = merge_lora(base);
  io::require_writable_folder(fs::path(output_folder).parent_path().empty()
                                  ? std::string(".")
                                  : fs::path(output_folder).parent_path().string());
  const std::string staging = io::staging_sibling(output_folder);
  save_model(merged, staging, file_dtype);
  // Tokenizer, chat template and generation config, as every folder empo writes.
  io::write_model_side_files(io::read_model_side_files(base_folder), staging);
  io::fsync_tree(staging);
  io::publish_folder(staging, output_folder);
}

Model without_lora(const Model& model) {
  Model base = model;
  base.lora.reset();
  return base;
}

}  // namespace empo::model
