#include "empo/model/transformer.h"

#include <functional>
#include <limits>
#include <tuple>

#include "empo/model/fused_ops.h"
#include "empo/model/lora.h"
#include "empo/model/paged_attention.h"
#include "empo/model/torch_compat.h"

namespace empo::model {

namespace {

// HF's RMSNorm: statistics in float32, scale in the input dtype. fused: one CPU kernel
// (fused_ops) instead of six ops, for the rollout engine's forwards.
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps, bool fused = false) {
  if (fused) return fused_rms_norm(x, weight, eps);
  auto x32 = x.to(at::kFloat);
  auto variance = x32.pow(2).mean(-1, /*keepdim=*/true);
  return weight * (x32 * at::rsqrt(variance + eps)).to(x.scalar_type());
}

at::Tensor linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  return bias.defined() ? at::linear(x, weight, bias) : at::linear(x, weight);
}

struct Rotary {
  at::Tensor cos;  // (B, 1, T, D)
  at::Tensor sin;  // (B, 1, T, D)
};

// cos and sin of every position's angles, with the checkpoint's rope scaling (rope.h). Every
// path (eager, SDPA, the paged and fused decode kernels) reads these tables.
Rotary rotary_tables(const at::Tensor& position_ids, const ModelConfig& config,
                     at::ScalarType dtype) {
  const auto frequencies =
      rope_inverse_frequencies(config.rope_scaling, config.rope_theta, config.head_dim);
  std::vector<float> narrow(frequencies.begin(), frequencies.end());
  auto inverse_frequency =
      at::tensor(narrow, at::TensorOptions().dtype(at::kFloat)).to(position_ids.device());  // (D/2)
  auto angles = position_ids.to(at::kFloat).unsqueeze(-1) * inverse_frequency;  // (B, T, D/2)
  auto doubled = at::cat({angles, angles}, -1).unsqueeze(1);                    // (B, 1, T, D)
  // YaRN scales cos and sin (attention_factor 1 for the other types).
  const double scale = config.rope_scaling.type == RopeScaling::Type::yarn
                           ? config.rope_scaling.attention_factor
                           : 1.0;
  if (scale != 1.0) return {(doubled.cos() * scale).to(dtype), (doubled.sin() * scale).to(dtype)};
  return {doubled.cos().to(dtype), doubled.sin().to(dtype)};
}

at::Tensor rotate_half(const at::Tensor& x) {
  auto halves = x.chunk(2, -1);
  return at::cat({-halves[1], halves[0]}, -1);
}

at::Tensor apply_rotary(const at::Tensor& x, const Rotary& rotary) {
  return x * rotary.cos + rotate_half(x) * rotary.sin;
}

// Which keys each query may see: (B, 1, T, S) bool. Causal over slots, real keys only; a
// query always sees its own slot so padding rows stay finite (their outputs are unused).
at::Tensor attention_mask(const at::Tensor& key_mask, int64_t first_slot, int64_t T) {
  const int64_t S = key_mask.size(1);
  auto options = at::TensorOptions().dtype(at::kLong).device(key_mask.device());
  auto query_slots = at::arange(first_slot, first_slot + T, options).unsqueeze(1);  // (T, 1)
  auto key_slots = at::arange(0, S, options).unsqueeze(0);                          // (1, S)
  auto causal = key_slots <= query_slots;                                           // (T, S)
  auto own_slot = key_slots == query_slots;                                         // (T, S)
  auto visible = causal.unsqueeze(0) & key_mask.to(at::kBool).unsqueeze(1);         // (B, T, S)
  return (visible | own_slot.unsqueeze(0)).unsqueeze(1);
}

// The reference path (transformers' eager): grouped-query attention without repeating
// keys/values, the H query heads viewed as Hkv groups of H/Hkv heads sharing one key/value
// head. It materialises the (B, H, T, S) scores, and autograd keeps them for backward.
at::Tensor eager_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                           const at::Tensor& mask) {
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3);
  const int64_t Hkv = k.size(1), S = k.size(2), groups = H / Hkv;
  auto grouped_q = q.reshape({B, Hkv, groups * T, D});
  auto scores = at::matmul(grouped_q, k.transpose(-1, -2)) / std::sqrt(static_cast<double>(D));
  scores = scores.view({B, H, T, S});
  scores = scores.masked_fill(mask.logical_not(), -std::numeric_limits<float>::infinity());
  auto weights = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());  // (B, H, T, S)
  auto out = at::matmul(weights.view({B, Hkv, groups * T, S}), v);         // (B, Hkv, G*T, D)
  return out.view({B, H, T, D});
}

bool uses_sdpa(AttnImplementation implementation) {
  return implementation == AttnImplementation::sdpa ||
         (implementation == AttnImplementation::automatic && compat::kFusedAttention);
}

// What every layer's attention needs to know about visibility, built once per forward.
// One tensor shared by all layers and heads, O(B T S); the scores sdpa avoids are O(B H T S)
// per layer.
struct Visibility {
  at::Tensor mask;      // (B or 1, 1, T, S) bool, for eager; undefined with sdpa
  at::Tensor additive;  // (B, 1, T, S) 0 / -inf in the compute dtype, for sdpa with a mask
  bool causal = false;  // sdpa over right-padded rows: is_causal, no mask tensor
};

// mask (B, 1, T, S) bool; undefined with `causal` (right-padded rows over T == S slots).
Visibility make_visibility(const Model& model, const at::Tensor& mask, bool causal, int64_t T,
                           const at::TensorOptions& options) {
  Visibility visibility;
  const bool sdpa = uses_sdpa(model.attn_implementation);
  if (causal && sdpa) {
    visibility.causal = true;
  } else if (causal) {  // one (1, 1, T, T) mask broadcast over the batch
    auto slots = at::arange(T, options.dtype(at::kLong));
    visibility.mask = (slots.unsqueeze(0) <= slots.unsqueeze(1)).view({1, 1, T, T});
  } else if (mask.defined() && sdpa) {
    visibility.additive =
        at::zeros(mask.sizes(), options)
            .masked_fill_(mask.logical_not(), -std::numeric_limits<float>::infinity());
  } else {
    visibility.mask = mask;
  }
  return visibility;
}

at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                     const Visibility& visibility) {
  if (visibility.causal) return compat::causal_attention(q, k, v);
  return visibility.additive.defined()
             ? compat::scaled_dot_product_attention(q, k, v, visibility.additive)
             : eager_attention(q, k, v, visibility.mask);
}

// One layer's weights and, when the model has them, its LoRA adapters.
struct LayerParameters {
  const LayerWeights& weights;
  const LoraAdapters* lora;  // null: no adapters
  size_t index;
  // A projection of x with the module's adapter added.
  at::Tensor project(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                     LoraModule module) const {
    return add_lora(linear(x, weight, bias), x, lora, index, module);
  }
};

// Decode attention over gathered pool blocks: q (B, H, T, D); keys, values (Hkv, B, S, D) as
// gathered (head-major); visible (B, T, S) bool. Returns (B, H, T, D). The batch dims of both
// products are (Hkv, B), so the gathered keys/values are multiplied in place.
at::Tensor gathered_attention(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& values,
                              const at::Tensor& visible) {
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3);
  const int64_t Hkv = keys.size(0), S = keys.size(2), groups = H / Hkv;
  auto grouped = q.reshape({B, Hkv, groups * T, D}).transpose(0, 1);  // (Hkv, B, g*T, D)
  // float32 scores, and softmax in float32: only the weights go back to q's dtype.
  auto scores =
      compat::float_matmul(grouped, keys.transpose(-1, -2)) / std::sqrt(static_cast<double>(D));
  auto hidden_keys = visible.logical_not().view({1, B, 1, T, S});
  scores = scores.view({Hkv, B, groups, T, S})
               .masked_fill(hidden_keys, -std::numeric_limits<float>::infinity());
  auto weights = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());  // (Hkv, B, g, T, S)
  auto out = at::matmul(weights.view({Hkv, B, groups * T, S}), values);    // (Hkv, B, g*T, D)
  return out.view({Hkv, B, groups, T, D}).permute({1, 0, 2, 3, 4}).reshape({B, H, T, D});
}

// Where a layer's new keys/values go and what its queries read: nothing (training), a
// contiguous KVState, or a SlotPool.
struct LayerCache {
  KVState* kv = nullptr;
  SlotPool* pool = nullptr;
  const PagedBatch* paged = nullptr;
  // A paged forward over a float32 CPU pool with autograd off: the fused CPU kernels
  // (fused_ops, paged_attention) replace the ATen compositions.
  bool fused = false;
  at::Tensor decode_visible;  // (B, T, S) bool: a gathered decode step's visibility

  // k, v (B, Hkv, T, D) of the new tokens -> the keys/values the queries attend (B, Hkv, S, D).
  // Paged decode steps attend with decode_attention() instead.
  std::pair<at::Tensor, at::Tensor> store(size_t layer, const at::Tensor& k,
                                          const at::Tensor& v) const {
    if (kv) {
      const int64_t start = kv->length, T = k.size(2);
      kv->keys[layer].narrow(2, start, T).copy_(k);
      kv->values[layer].narrow(2, start, T).copy_(v);
      return {kv->keys[layer].narrow(2, 0, start + T), kv->values[layer].narrow(2, 0, start + T)};
    }
    if (pool) {
      auto write = paged->write_slots.reshape({-1});
      auto put = [&](at::Tensor& blocks, const at::Tensor& fresh) {
        const int64_t Hkv = blocks.size(0), D = blocks.size(3);
        blocks.view({Hkv, -1, D})
            .index_copy_(1, write, fresh.transpose(0, 1).reshape({Hkv, -1, D}));  // (Hkv, B*T, D)
      };
      put(pool->keys[layer], k);
      put(pool->values[layer], v);
    }
    return {k, v};
  }

  bool paged_decode() const { return pool && paged->read_blocks.defined(); }

  // q, k, v (B, T, H or Hkv, D) of a fused decode step -> its attention (B, T, H, D): rotary
  // and the key/value write in one pass, then attention read from the pool in place.
  at::Tensor fused_decode_attention(size_t layer, const at::Tensor& q, const at::Tensor& k,
                                    const at::Tensor& v, const Rotary& rotary) const {
    auto rotated = rotate_and_store(q, k, v, rotary.cos, rotary.sin, pool->keys[layer],
                                    pool->values[layer], paged->write_slots);
    return paged_attention(rotated, pool->keys[layer], pool->values[layer], paged->read_blocks,
                           paged->key_positions, paged->position_ids);
  }

  // q (B, H, T, D) -> (B, H, T, D) over the rows' pool blocks gathered into (Hkv, B, S, D).
  at::Tensor decode_attention(size_t layer, const at::Tensor& q) const {
    const auto& blocks = paged->read_blocks;  // (B, nb)
    const int64_t B = blocks.size(0), S = blocks.size(1) * pool->block_size();
    auto take = [&](const at::Tensor& pool_blocks) {
      const int64_t Hkv = pool_blocks.size(0), D = pool_blocks.size(3);
      return pool_blocks.index_select(1, blocks.reshape({-1})).view({Hkv, B, S, D});
    };
    return gathered_attention(q, take(pool->keys[layer]), take(pool->values[layer]),
                              decode_visible);
  }
};

at::Tensor attention_block(const ModelConfig& config, const LayerParameters& parameters,
                           const at::Tensor& x, const Rotary& rotary, const Visibility& visibility,
                           const LayerCache& cache) {
  const auto& layer = parameters.weights;
  const size_t layer_index = parameters.index;
  const int64_t B = x.size(0), T = x.size(1), D = config.head_dim;
  const int64_t H = config.num_attention_heads, Hkv = config.num_key_value_heads;
  auto q = parameters.project(x, layer.q_proj, layer.q_bias, LoraModule::q_proj)
               .view({B, T, H, D});  // (B, T, H, D)
  auto k = parameters.project(x, layer.k_proj, layer.k_bias, LoraModule::k_proj)
               .view({B, T, Hkv, D});  // (B, T, Hkv, D)
  auto v =
      parameters.project(x, layer.v_proj, layer.v_bias, LoraModule::v_proj).view({B, T, Hkv, D});
  if (config.qk_norm) {
    q = rms_norm(q, layer.q_norm, config.rms_norm_eps, cache.fused);
    k = rms_norm(k, layer.k_norm, config.rms_norm_eps, cache.fused);
  }
  if (cache.fused && cache.paged_decode()) {
    auto attended = cache.fused_decode_attention(layer_index, q, k, v, rotary);  // (B, T, H, D)
    return parameters.project(attended.view({B, T, H * D}), layer.o_proj, layer.o_bias,
                              LoraModule::o_proj);
  }
  q = apply_rotary(q.transpose(1, 2), rotary);  // (B, H, T, D)
  k = apply_rotary(k.transpose(1, 2), rotary);  // (B, Hkv, T, D)
  v = v.transpose(1, 2);
  std::tie(k, v) = cache.store(layer_index, k, v);
  auto attended = cache.paged_decode() ? cache.decode_attention(layer_index, q)
                                       : attention(q, k, v, visibility);  // (B, H, T, D)
  auto out = attended.transpose(1, 2).reshape({B, T, H * D});
  return parameters.project(out, layer.o_proj, layer.o_bias, LoraModule::o_proj);
}

at::Tensor mlp_block(const LayerParameters& parameters, const at::Tensor& x, bool fused) {
  const auto& layer = parameters.weights;
  const at::Tensor none;
  auto gate = parameters.project(x, layer.gate_proj, none, LoraModule::gate_proj);  // (B, T, F)
  auto up = parameters.project(x, layer.up_proj, none, LoraModule::up_proj);        // (B, T, F)
  // In place where autograd need not keep the activation: one op and no allocation fewer.
  auto activated = fused ? at::silu_(gate).mul_(up) : at::silu(gate) * up;
  return parameters.project(activated, layer.down_proj, none, LoraModule::down_proj);
}

// One pre-norm decoder layer: x (B, T, C) -> (B, T, C).
at::Tensor decoder_layer(const ModelConfig& config, const LayerParameters& parameters,
                         const at::Tensor& x, const Rotary& rotary, const Visibility& visibility,
                         const LayerCache& cache) {
  const auto& layer = parameters.weights;
  const double eps = config.rms_norm_eps;
  auto h = x + attention_block(config, parameters, rms_norm(x, layer.input_norm, eps, cache.fused),
                               rotary, visibility, cache);
  return h + mlp_block(parameters, rms_norm(h, layer.post_attention_norm, eps, cache.fused),
                       cache.fused);
}

// Gradient checkpointing: the forward keeps only the layer's input; backward runs the layer
// again with autograd on and differentiates that replay. The replay is held by the autograd
// node (a capsule in its saved data), so it lives exactly as long as the graph does.
struct LayerReplay : torch::CustomClassHolder {
  std::function<at::Tensor(const at::Tensor&)> run;  // (B, T, C) -> (B, T, C)
};

struct CheckpointedLayer : torch::autograd::Function<CheckpointedLayer> {
  // parameters: the layer's tensors, inputs of the node so their gradients are routed here.
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x,
                            at::TensorList parameters, c10::intrusive_ptr<LayerReplay> replay) {
    std::vector<at::Tensor> saved{x};
    saved.insert(saved.end(), parameters.begin(), parameters.end());
    ctx->save_for_backward(saved);
    ctx->saved_data["replay"] = at::IValue::make_capsule(replay);
    return replay->run(x);  // autograd is off inside forward: nothing else is kept
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    auto saved = ctx->get_saved_variables();  // x, then the parameters
    auto replay =
        c10::static_intrusive_pointer_cast<LayerReplay>(ctx->saved_data["replay"].toCapsule());
    const bool x_needs_grad = saved[0].requires_grad();
    auto x = saved[0].detach().requires_grad_(x_needs_grad);
    std::vector<at::Tensor> wrt;
    std::vector<size_t> wrt_slot;  // index into `saved` of each entry of wrt
    if (x_needs_grad) wrt.push_back(x), wrt_slot.push_back(0);
    for (size_t i = 1; i < saved.size(); ++i)
      if (saved[i].requires_grad()) wrt.push_back(saved[i]), wrt_slot.push_back(i);
    // One entry per input of forward: x, each parameter, and the (non-tensor) replay.
    torch::autograd::variable_list grads(saved.size() + 1);
    if (wrt.empty()) return grads;
    at::Tensor out;
    {
      at::AutoGradMode grad_on(true);
      out = replay->run(x);
    }
    auto computed = torch::autograd::grad({out}, wrt, {grad_outputs[0]}, /*retain_graph=*/false,
                                          /*create_graph=*/false, /*allow_unused=*/true);
    for (size_t i = 0; i < wrt.size(); ++i) grads[wrt_slot[i]] = computed[i];
    return grads;
  }
};

std::vector<at::Tensor> layer_tensors(const LayerParameters& parameters) {
  const auto& layer = parameters.weights;
  std::vector<at::Tensor> tensors = lora_layer_tensors(parameters.lora, parameters.index);
  for (const auto* tensor :
       {&layer.input_norm, &layer.q_proj, &layer.k_proj, &layer.v_proj, &layer.q_bias,
        &layer.k_bias, &layer.v_bias, &layer.o_proj, &layer.o_bias, &layer.q_norm, &layer.k_norm,
        &layer.post_attention_norm, &layer.gate_proj, &layer.up_proj, &layer.down_proj})
    if (tensor->defined()) tensors.push_back(*tensor);
  return tensors;
}

// `config` and the layer's weights and adapters must outlive the backward pass (they are the
// model's).
at::Tensor checkpointed_decoder_layer(const ModelConfig& config, const LayerParameters& parameters,
                                      const at::Tensor& x, const Rotary& rotary,
                                      const Visibility& visibility) {
  auto replay = c10::make_intrusive<LayerReplay>();
  replay->run = [&config, parameters, rotary, visibility](const at::Tensor& input) {
    return decoder_layer(config, parameters, input, rotary, visibility, LayerCache{});
  };
  auto tensors = layer_tensors(parameters);
  return CheckpointedLayer::apply(x, at::TensorList(tensors), replay);
}

// The layers over embedded tokens, given who sees whom (mask (B, 1, T, S) bool; causal for
// right-padded rows without a cache; neither for a paged decode step, which has its own) and
// the cache.
at::Tensor run_layers(const Model& model, const at::Tensor& input_ids,
                      const at::Tensor& position_ids, const at::Tensor& mask, bool causal,
                      const LayerCache& cache, std::vector<at::Tensor>* hidden_states) {
  const auto& config = model.config;
  const auto& weights = model.weights;
  auto x = at::embedding(weights.embed_tokens, input_ids);  // (B, T, C)
  auto rotary = rotary_tables(position_ids, config, x.scalar_type());
  const Visibility visibility = make_visibility(model, mask, causal, x.size(1), x.options());
  const bool checkpoint =
      model.gradient_checkpointing && !cache.kv && !cache.pool && at::GradMode::is_enabled();
  if (hidden_states) hidden_states->push_back(x);
  for (size_t i = 0; i < weights.layers.size(); ++i) {
    const LayerParameters layer{weights.layers[i], model.lora.get(), i};
    x = checkpoint ? checkpointed_decoder_layer(config, layer, x, rotary, visibility)
                   : decoder_layer(config, layer, x, rotary, visibility, cache);
    if (hidden_states && i + 1 < weights.layers.size()) hidden_states->push_back(x);
  }
  x = rms_norm(x, weights.norm, config.rms_norm_eps, cache.fused);
  if (hidden_states) hidden_states->push_back(x);
  return x;
}

}  // namespace

at::Tensor forward_hidden(const Model& model, const ForwardBatch& batch, KVState* kv,
                          std::vector<at::Tensor>* hidden_states) {
  const int64_t T = batch.input_ids.size(1);
  const int64_t first_slot = kv ? kv->length : 0;
  if (kv && first_slot + T > kv->capacity())
    throw std::logic_error("KV cache overflow: " + std::to_string(first_slot + T) + " slots > " +
                           std::to_string(kv->capacity()));
  if (batch.key_mask.size(1) != first_slot + T)
    throw std::logic_error("key_mask must cover the cached and the new slots");
  const bool causal = !kv && batch.padding == Padding::right;
  at::Tensor mask;  // (B, 1, T, S)
  if (!causal) mask = attention_mask(batch.key_mask, first_slot, T);
  LayerCache cache;
  cache.kv = kv;
  auto x =
      run_layers(model, batch.input_ids, batch.position_ids, mask, causal, cache, hidden_states);
  if (kv) kv->length += T;
  return x;
}

at::Tensor forward_hidden(const Model& model, const PagedBatch& batch, SlotPool& pool) {
  at::NoGradGuard no_grad;
  const int64_t T = batch.input_ids.size(1);
  LayerCache cache;
  cache.pool = &pool;
  cache.paged = &batch;
  cache.fused = !pool.keys.empty() && paged_attention_reads_in_place(pool.keys[0]);
  at::Tensor mask;  // (B, 1, T, T) for a prefill's attention to its own tokens
  const bool prefill = !batch.read_blocks.defined();
  const bool causal = prefill && batch.padding == Padding::right;
  if (prefill && !causal) {
    mask = attention_mask(batch.key_mask, 0, T);
  } else if (!prefill && !cache.fused) {
    // Only the gather path needs the mask; the in-place kernel reads positions itself.
    auto keys = batch.key_positions.unsqueeze(1);            // (B, 1, S)
    auto queries = batch.position_ids.unsqueeze(-1);         // (B, T, 1)
    cache.decode_visible = (keys >= 0) & (keys <= queries);  // (B, T, S)
  }
  return run_layers(model, batch.input_ids, batch.position_ids, mask, causal, cache, nullptr);
}

at::Tensor forward_logits(const Model& model, const ForwardBatch& batch, KVState* kv) {
  auto hidden = forward_hidden(model, batch, kv);
  return at::linear(hidden, model.weights.lm_head).to(at::kFloat);
}

at::Tensor positions_from_mask(const at::Tensor& attention_mask) {
  return (attention_mask.to(at::kLong).cumsum(1) - 1).clamp_min(0);
}

ForwardBatch make_batch(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                        Padding padding) {
  return {input_ids.to(at::kLong), positions_from_mask(attention_mask),
          attention_mask.to(at::kBool), padding};
}

KVState allocate_kv(const Model& model, int64_t batch_size, int64_t capacity) {
  const auto& config = model.config;
  auto options = model.weights.embed_tokens.options().requires_grad(false);
  KVState kv;
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    kv.keys.push_back(
        at::zeros({batch_size, config.num_key_value_heads, capacity, config.head_dim}, options));
    kv.values.push_back(
        at::zeros({batch_size, config.num_key_value_heads, capacity, config.head_dim}, options));
  }
  return kv;
}

SlotPool allocate_slot_pool(const Model& model, int64_t num_blocks, int64_t block_size) {
  const auto& config = model.config;
  auto options = model.weights.embed_tokens.options().requires_grad(false);
  const std::vector<int64_t> shape{config.num_key_value_heads, num_blocks, block_size,
                                   config.head_dim};
  const bool read_in_place = paged_attention_reads_in_place(at::empty({0}, options));
  SlotPool pool;
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    for (auto* tensors : {&pool.keys, &pool.values})
      tensors->push_back(read_in_place ? at::empty(shape, options) : at::zeros(shape, options));
  }
  return pool;
}

int64_t slot_bytes(const Model& model) {
  const auto& config = model.config;
  return 2 * config.num_hidden_layers * config.num_key_value_heads * config.head_dim *
         static_cast<int64_t>(model.weights.embed_tokens.element_size());
}

int64_t kv_bytes(const KVState& kv) {
  int64_t bytes = 0;
  for (size_t i = 0; i < kv.keys.size(); ++i)
    bytes += kv.keys[i].numel() * kv.keys[i].element_size() +
             kv.values[i].numel() * kv.values[i].element_size();
  return bytes;
}

}  // namespace empo::model
