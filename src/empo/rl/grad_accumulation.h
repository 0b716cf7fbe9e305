#pragma once
// Gradients of low-precision (bf16 / fp16) parameters summed in float32 across micro-batches.
//
// Autograd accumulates .grad() in the parameter's own dtype: with bf16 weights, a step of 128
// micro-batches adds 128 times into a bf16 running sum, each addition rounding to 8 significant
// bits, so the step's gradient depends on micro_batch_size. Here each micro-batch's gradient is
// rounded once (by its own backward) and the running sum is float32, so micro_batch_size changes
// memory, not the gradient. float32 parameters need nothing: autograd already sums in float32.
//
// Use: add_micro_batch() after every micro-batch backward; finish() once before the gradient
// all-reduce, clipping and the optimizer step, which then read float32 .grad() tensors.
#include <torch/torch.h>

#include <vector>

namespace empo::rl {

class GradAccumulator {
 public:
  GradAccumulator() = default;
  explicit GradAccumulator(std::vector<at::Tensor> parameters);

  // Adds the .grad() of every low-precision parameter into its float32 sum and clears .grad(),
  // so the next backward starts from nothing instead of adding into a bf16 sum.
  void add_micro_batch();
  // Hands each low-precision parameter its float32 sum as .grad() (a float32 tensor on a bf16
  // parameter) and restarts the sums; parameters without a gradient keep none.
  void finish();

  // Bytes of float32 sums held now (between the first micro-batch and finish()).
  int64_t bytes() const;

 private:
  std::vector<at::Tensor> parameters_;
  std::vector<at::Tensor> sums_;  // (parameter shape) float32; undefined when nothing is summed
};

}  // namespace empo::rl
