#include "empo/generate/graph_decoder.h"

#include "empo/generate/paged_cache.h"

namespace empo::generate {

int64_t bucket_size(int64_t count, int64_t most) {
  int64_t bucket = 1;
  while (bucket < count) bucket *= 2;
  return std::min(bucket, most);
}

// A bucket's buffers (fixed addresses: the graph reads and writes them) and its step.
struct GraphDecoder::Bucket {
  at::Tensor logits;                                      // (Rb, V) float32, in and out
  at::Tensor read_blocks;                                 // (Rb, nbb)
  at::Tensor key_positions;                               // (Rb, nbb * block_size)
  at::Tensor write_slot;                                  // (Rb, 1)
  at::Tensor positions;                                   // (Rb, 1), advanced by the step
  at::Tensor uniforms;                                    // (Rb)
  at::Tensor tokens, sampling_logprobs, policy_logprobs;  // (Rb) out
  std::unique_ptr<compat::DeviceGraph> step;

  // Every row padding: it writes the scratch slot and sees only that slot, at position 0.
  void reset_to_padding() {
    logits.zero_();
    read_blocks.fill_(0);
    key_positions.fill_(-1);
    key_positions.select(1, 0).fill_(0);
    write_slot.fill_(BlockAllocator::kScratchSlot);
    positions.fill_(0);
    uniforms.fill_(0.5);
  }
};

GraphDecoder::GraphDecoder(const model::Model& model, model::SlotPool& pool,
                           const SamplingParams& sampling, int64_t max_rows, int64_t max_blocks)
    : model_(model),
      pool_(pool),
      sampling_(sampling),
      max_rows_(std::max<int64_t>(1, max_rows)),
      max_blocks_(std::max<int64_t>(1, max_blocks)),
      graph_pool_(model.weights.embed_tokens.device()) {}

GraphDecoder::~GraphDecoder() = default;

bool GraphDecoder::serves(const model::Model& model, const model::SlotPool& pool,
                          const SamplingParams& sampling, int64_t max_rows,
                          int64_t max_blocks) const {
  return &model == &model_ && &pool == &pool_ && sampling == sampling_ &&
         std::max<int64_t>(1, max_rows) == max_rows_ && max_blocks <= max_blocks_;
}

GraphDecoder::Bucket& GraphDecoder::bucket(int64_t rows, int64_t blocks) {
  const int64_t Rb = bucket_size(rows, max_rows_), nbb = bucket_size(blocks, max_blocks_);
  auto& slot = buckets_[{Rb, nbb}];
  if (slot) return *slot;
  slot = std::make_unique<Bucket>();
  Bucket& b = *slot;
  const auto device = model_.weights.embed_tokens.device();
  auto longs = at::TensorOptions().dtype(at::kLong).device(device);
  auto floats = at::TensorOptions().dtype(at::kFloat).device(device);
  b.logits = at::zeros({Rb, model_.weights.lm_head.size(0)}, floats);
  b.read_blocks = at::zeros({Rb, nbb}, longs);
  b.key_positions = at::zeros({Rb, nbb * pool_.block_size()}, longs);
  b.write_slot = at::zeros({Rb, 1}, longs);
  b.positions = at::zeros({Rb, 1}, longs);
  b.uniforms = at::zeros({Rb}, at::TensorOptions().dtype(at::kDouble).device(device));
  b.tokens = at::zeros({Rb}, longs);
  b.sampling_logprobs = at::zeros({Rb}, floats);
  b.policy_logprobs = at::zeros({Rb}, floats);
  // The capture's warm-up run sees only padding rows, so it writes nothing but the scratch slot.
  b.reset_to_padding();
  const bool greedy = sampling_.is_greedy();
  b.step = std::make_unique<compat::DeviceGraph>(
      device,
      [this, &b, greedy, Rb] {
        auto sampled = sample_on_device(b.logits, sampling_, greedy ? at::Tensor() : b.uniforms);
        b.tokens.copy_(sampled.tokens);
        b.sampling_logprobs.copy_(sampled.sampling_logprobs);
        b.policy_logprobs.copy_(sampled.policy_logprobs);
        model::PagedBatch batch;
        batch.input_ids = b.tokens.view({Rb, 1});
        batch.position_ids = b.positions;
        batch.write_slots = b.write_slot;
        batch.read_blocks = b.read_blocks;
        batch.key_positions = b.key_positions;
        auto hidden = model::forward_hidden(model_, batch, pool_).squeeze(1);  // (Rb, C)
        b.logits.copy_(at::linear(hidden, model_.weights.lm_head));
        b.positions.add_(1);
      },
      graph_pool_);
  return b;
}

DecodedSteps GraphDecoder::run(const DecodeWindow& window, int64_t steps) {
  const int64_t R = window.logits.size(0), nb = window.read_blocks.size(1);
  TORCH_CHECK(nb <= max_blocks_, "a row reads ", nb, " blocks, more than the ", max_blocks_,
              " the decode graphs were built for");
  Bucket& b = bucket(R, nb);
  // Padding everywhere, then the live rows' columns over it (the padding's one visible slot,
  // column 0, is among them).
  b.reset_to_padding();
  b.logits.narrow(0, 0, R).copy_(window.logits);
  b.read_blocks.narrow(0, 0, R).narrow(1, 0, nb).copy_(window.read_blocks);
  b.key_positions.narrow(0, 0, R)
      .narrow(1, 0, window.key_positions.size(1))
      .copy_(window.key_positions);
  b.positions.narrow(0, 0, R).copy_(window.positions);
  DecodedSteps out;
  for (int64_t s = 0; s < steps; ++s) {
    b.write_slot.narrow(0, 0, R).copy_(window.write_slots.narrow(1, s, 1));
    if (window.uniforms.defined()) b.uniforms.narrow(0, 0, R).copy_(window.uniforms.select(1, s));
    b.step->replay();
    out.tokens.push_back(b.tokens.narrow(0, 0, R).clone());
    out.sampling_logprobs.push_back(b.sampling_logprobs.narrow(0, 0, R).clone());
    out.policy_logprobs.push_back(b.policy_logprobs.narrow(0, 0, R).clone());
  }
  out.logits = b.logits.narrow(0, 0, R).clone();
  return out;
}

int64_t GraphDecoder::captured_buckets() const {
  int64_t captured = 0;
  for (const auto& [rows, b] : buckets_) captured += b->step->captured() ? 1 : 0;
  return captured;
}

}  // namespace empo::generate
