#pragma once
// Decode steps over fixed-shape buffers, one set per batch-size bucket, each step recorded
// once as a device graph (compat::DeviceGraph: a CUDA graph on CUDA, eager elsewhere) and
// replayed with the window's data copied in: on a GPU the host no longer launches the ~10
// kernels per layer of every step. Rows past the live ones are padding: they write the
// scratch slot and read only it.
#include <map>
#include <memory>
#include <vector>

#include "empo/generate/sampler.h"
#include "empo/model/torch_compat.h"
#include "empo/model/transformer.h"

namespace empo::generate {

// The rows of the bucket that serves `rows` live rows: the next power of two, at most
// max_rows (the last bucket holds exactly max_rows).
int64_t bucket_rows(int64_t rows, int64_t max_rows);

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
  // max_blocks: the most blocks a row may read (its prompt's plus its own).
  GraphDecoder(const model::Model& model, model::SlotPool& pool, const SamplingParams& sampling,
               int64_t max_rows, int64_t max_blocks);
  ~GraphDecoder();

  // Up to `steps` steps (<= the window's columns); like the eager loop, each samples from the
  // logits and runs the forward of the sampled tokens.
  DecodedSteps run(const DecodeWindow& window, int64_t steps);

  // Buckets whose step was captured as a CUDA graph (0 off CUDA).
  int64_t captured_buckets() const;

 private:
  struct Bucket;
  Bucket& bucket(int64_t rows);

  const model::Model& model_;
  model::SlotPool& pool_;
  const SamplingParams sampling_;
  const int64_t max_rows_, max_blocks_;
  std::map<int64_t, std::unique_ptr<Bucket>> buckets_;  // by bucket rows
};

}  // namespace empo::generate
