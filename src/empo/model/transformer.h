#pragma once
// The decoder: one shared block (RMSNorm -> attention with RoPE and GQA -> RMSNorm -> SwiGLU)
// with per-family switches from ModelConfig (q/k/v bias, q/k norm). Batches carry explicit
// position ids and a key mask, so left and right padding both work.
#include <torch/torch.h>

#include <vector>

#include "empo/model/weights.h"

namespace empo::model {

// Keys and values of earlier tokens, per layer, written in place as tokens arrive. Slot s of
// every row holds the token fed at step s (rows are aligned; padding is masked, not removed).
struct KVState {
  std::vector<at::Tensor> keys;    // per layer (B, Hkv, capacity, D)
  std::vector<at::Tensor> values;  // per layer (B, Hkv, capacity, D)
  int64_t length = 0;              // filled slots
  int64_t capacity() const { return keys.empty() ? 0 : keys[0].size(2); }
};

// Where a batch's padding sits. Right-padded rows (real tokens first, as training, scoring and
// prefill pack them) attend causally with no mask tensor: a real query never sees a later slot.
// Any other layout (left padding, a cache) keeps the (B, 1, T, S) mask.
enum class Padding { right, any };

struct ForwardBatch {
  at::Tensor input_ids;     // (B, T) int64
  at::Tensor position_ids;  // (B, T) int64, RoPE positions
  at::Tensor key_mask;      // (B, S) bool, S = kv.length + T: which slots hold real tokens
  Padding padding = Padding::any;
};

// A paged cache: every layer's keys and values live in one pool of fixed-size blocks, and the
// caller decides which blocks each row writes and reads (generate/paged_cache.h keeps a block
// table per row), so a prompt's keys/values can be stored once and read by all its samples.
// Head-major, so the blocks a batch reads gather into the (Hkv, B, S, D) layout attention
// multiplies without another copy.
struct SlotPool {
  std::vector<at::Tensor> keys;    // per layer (Hkv, num_blocks, block_size, D)
  std::vector<at::Tensor> values;  // per layer (Hkv, num_blocks, block_size, D)
  int64_t num_blocks() const { return keys.empty() ? 0 : keys[0].size(1); }
  int64_t block_size() const { return keys.empty() ? 0 : keys[0].size(2); }
};

// One forward over a SlotPool. Slot s is offset s % block_size of block s / block_size.
struct PagedBatch {
  at::Tensor input_ids;     // (B, T) int64
  at::Tensor position_ids;  // (B, T) int64, RoPE positions
  at::Tensor write_slots;   // (B, T) int64: the pool slot that receives each new token
  // Prefill: read_blocks undefined; the new tokens attend to one another, causally, the real
  // ones (key_mask (B, T) bool) only. Decode: each row reads its blocks, whose slots hold the
  // positions key_positions names (-1: an empty slot); a query at position p sees the slots
  // of positions <= p, its own included (written first).
  at::Tensor key_mask;             // (B, T) bool, prefill
  Padding padding = Padding::any;  // prefill: Padding::right needs no mask (key_mask unread)
  at::Tensor read_blocks;          // (B, nb) int64, decode
  at::Tensor key_positions;        // (B, nb * block_size) int64, decode
};

// Final-norm hidden states (B, T, C). With kv, the new tokens' keys/values are written to
// slots [kv->length, kv->length + T) and kv->length advances. hidden_states, when given,
// receives HF's output_hidden_states: the embeddings, each layer's output, and the last
// entry after the final norm.
at::Tensor forward_hidden(const Model& model, const ForwardBatch& batch, KVState* kv = nullptr,
                          std::vector<at::Tensor>* hidden_states = nullptr);

// The same over a paged cache: each new token's key/value is written to its write slot first,
// then every query reads its row's slots up to its own position. Runs without autograd.
at::Tensor forward_hidden(const Model& model, const PagedBatch& batch, SlotPool& pool);

// Logits (B, T, V) in float32. Only for small vocabularies or short T; training uses
// token_logprobs (logprobs.h), which never materialises (B, T, V).
at::Tensor forward_logits(const Model& model, const ForwardBatch& batch, KVState* kv = nullptr);

// Batch helpers from an attention mask (B, T) of 0/1: positions = cumsum(mask) - 1 clamped
// at 0 (HF's convention for left padding). `padding` is the caller's promise about the mask's
// layout (Padding::right: each row's ones come first).
at::Tensor positions_from_mask(const at::Tensor& attention_mask);
ForwardBatch make_batch(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                        Padding padding = Padding::any);

// An empty cache for B rows and `capacity` slots in the model's dtype/device.
KVState allocate_kv(const Model& model, int64_t batch_size, int64_t capacity);
int64_t kv_bytes(const KVState& kv);

// A pool of `num_blocks` blocks of `block_size` slots in the model's dtype/device; bytes of one
// slot (one token's keys and values) over all layers. A pool the in-place kernel reads is left
// uninitialised (it never reads a slot before its write); a gathered one is zeroed, since
// masked slots are multiplied by zero weights there and must hold finite numbers.
SlotPool allocate_slot_pool(const Model& model, int64_t num_blocks, int64_t block_size);
int64_t slot_bytes(const Model& model);

}  // namespace empo::model
