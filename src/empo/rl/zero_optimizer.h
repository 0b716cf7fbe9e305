#pragma once
// The data-parallel optimizer with DeepSpeed's ZeRO stages (`zero_stage`):
//   0  replicated: gradients all-reduced, every rank holds the float32 master weights and both
//      AdamW moments of every parameter (optimizer.safetensors, written by rank 0);
//   1  the master weights and moments sharded: the parameters, flattened in order, are cut into
//      world_size contiguous ranges; the summed gradient is reduced into each range's owner (a
//      reduce-scatter, bucket by bucket), each rank updates only its range, then every range's
//      owner broadcasts its updated weights (in the parameters' dtype, bucket by bucket);
//   2  as 1, and the gradients too: after every micro-batch's backward, each parameter's
//      gradient is reduced to the owners of its ranges (a reduce-scatter) and freed, and each
//      rank sums its range in float32, so no full-size gradient outlives a backward pass.
// Stages 1 and 2 write one file per rank, optimizer-<rank>-of-<world>.safetensors. Any stage
// reads what any stage and any number of ranks wrote: shards are merged and re-split on load.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "empo/dist/process_group.h"
#include "empo/rl/optimizer.h"

namespace empo::rl {

// [begin, end) of the flattened parameters (total elements) that `rank` owns: equal ranges of
// ceil(total / world_size), the last ones shorter or empty.
struct FlatRange {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end - begin; }
};
FlatRange owned_range(int64_t total, int rank, int world_size);

// optimizer-<rank>-of-<world>.safetensors
std::string optimizer_shard_name(int rank, int world_size);

class ZeroOptimizer {
 public:
  // Collectives carry at most bucket_elements elements each (dist/buckets.h).
  ZeroOptimizer(std::vector<at::Tensor> parameters, const AdamWSettings& settings,
                dist::Group group, int stage, int64_t bucket_elements = dist::kBucketElements);

  // Stage 2: call reduce_micro_batch() after every micro-batch's backward, on every rank equally
  // often (a rank without a gradient adds zeros); it sums .grad() into the owners' float32
  // ranges and clears it. Stages 0 and 1 sum gradients in .grad() (see GradAccumulator).
  bool reduces_every_micro_batch() const { return stage_ == 2; }
  void reduce_micro_batch();

  // After this rank's backward passes: combines the gradients of all ranks, clips their global
  // norm to max_norm (0: no clipping) and takes one AdamW step at lr, unless the loss or the
  // norm is not finite (then nothing changes, see guarded_step). Gradients are cleared either
  // way. Every rank calls it with the same loss.
  UpdateOutcome step(double loss, double max_norm, double lr);
  void zero_grad();
  int64_t steps() const;
  int stage() const { return stage_; }

  // Writes this rank's optimizer files into `folder` (stage 0: rank 0 writes
  // optimizer.safetensors, the others nothing); tensors go to disk one at a time.
  void save(const std::string& folder) const;
  // Reads the optimizer state of a checkpoint folder, whatever stage and number of ranks wrote
  // it; InputError naming the file when it does not fit these parameters.
  void load(const std::string& folder);

  // Bytes of optimizer state this rank holds: master weights, moments and (stage 1 and 2) the
  // float32 gradient range.
  int64_t state_bytes() const;

 private:
  // A piece of one parameter inside one rank's range.
  struct Segment {
    size_t parameter;
    int64_t parameter_offset;  // in the flattened parameter
    int64_t flat_offset;       // in the flattened parameters
    int64_t length;
    int owner;
  };
  // Every segment as a span keyed by its owner (and, by_dtype, its parameter's dtype).
  std::vector<dist::Span> segment_spans(bool by_dtype) const;
  // Sums .grad() of every rank into the owners' float32 ranges and clears it (stage 1 once per
  // step, stage 2 after every micro-batch).
  void reduce_gradients_to_owners();
  void publish_weights();
  at::Tensor owned(const at::Tensor& flat_state, const Segment& segment) const;
  at::Tensor owned(const at::Tensor& flat_state, const dist::Span& piece) const;

  std::vector<at::Tensor> parameters_;
  AdamWSettings settings_;
  dist::Group group_;
  int stage_;
  int64_t bucket_elements_;
  std::vector<int64_t> offsets_;  // flat offset of each parameter
  int64_t total_ = 0;
  std::vector<Segment> segments_;  // every rank's, ordered by flat offset
  FlatRange range_;                // this rank's
  // Stage 0.
  std::unique_ptr<AdamW> replicated_;
  // Stages 1 and 2: (range_.size()) float32 on the parameters' device.
  at::Tensor master_, exp_avg_, exp_avg_sq_, grad_;
  int64_t steps_ = 0;
};

}  // namespace empo::rl
