#pragma once
// Decode steps over fixed-shape buffers, one set per (batch-size, block-count) bucket, each
// step recorded once as a device graph (compat::DeviceGraph: a CUDA graph on CUDA, eager
// elsewhere) and replayed with the window's data copied in: on a GPU the host no longer
// launches the ~10 kernels per layer of every step. Rows past the live ones are padding: they
// write the scratch slot and read only it. Block-count buckets keep a replay's attention to
// about the context the rows have, not the longest they may reach. Every bucket's graph
// shares one memory pool, and the decoder lives as long as its KV pool (a DecodeSession keeps
// both across generate() calls), so a training run captures each bucket once.
#include <map>
#include <memory>
#include <vector>

#include "empo/generate/sampler.h"
#include "empo/model/torch_compat.h"
#include "empo/model/transformer.h"

namespace empo::generate {

// The size of the bucket that serves `count` live rows (or blocks read per row): the next power
// of two, at most `most` (the last bucket holds exactly `most`).
int64_t bucket_size(int64_t count, int64_t most);

// One window's device inputs for R live rows (the engine's decode_window builds them).
struct DecodeWindow {
  at::Tensor logits;         // (R, V) float32: the next-token logits of each row
  at::Tensor read_blocks;    // (R, nb) int64, nb <= max_blocks
  at::Tensor key_positions;  // (R, nb * block_size) int64, -1: empty slot
  at::Tensor write_slots;    // (R, steps) int64
  at::Tensor positions;      // (R, 1) int64: the position of each row's next token
  at::Tensor uniforms;       // (R, steps) float64; undefined when greedy
};

struct DecodedSteps {
  std::vector<at::Tensor> tokens, sampling_logprobs, policy_logprobs;  // per step, (R) each
  at::Tensor logits;  // (R, V) after the last step's forward
};

class GraphDecoder {
 public:
  // max_blocks: the most blocks a row may read (its prompt's plus its own; at most the pool's).
  GraphDecoder(const model::Model& model, model::SlotPool& pool, const SamplingParams& sampling,
               int64_t max_rows, int64_t max_blocks);
  ~GraphDecoder();

  // Up to `steps` steps (<= the window's columns); like the eager loop, each samples from the
  // logits and runs the forward of the sampled tokens.
  DecodedSteps run(const DecodeWindow& window, int64_t steps);

  // Buckets whose step was captured as a CUDA graph (0 off CUDA).
  int64_t captured_buckets() const;
  // Buckets built so far (each one's step is recorded once, when first used).
  int64_t buckets() const { return static_cast<int64_t>(buckets_.size()); }

  // Whether this decoder serves a generate() call of `model` over `pool` with these settings.
  bool serves(const model::Model& model, const model::SlotPool& pool,
              const SamplingParams& sampling, int64_t max_rows, int64_t max_blocks) const;

 private:
  struct Bucket;
  Bucket& bucket(int64_t rows, int64_t blocks);

  const model::Model& model_;
  model::SlotPool& pool_;
  const SamplingParams sampling_;
  const int64_t max_rows_, max_blocks_;
  compat::GraphPool graph_pool_;  // declared before the buckets: their graphs use it
  std::map<std::pair<int64_t, int64_t>, std::unique_ptr<Bucket>> buckets_;  // by (rows, blocks)
};

}  // namespace empo::generate
