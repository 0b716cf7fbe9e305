#pragma once
// AdamW with the exact update of torch.optim.AdamW, gradient-norm clipping and the learning
// rate schedules, over plain tensors: its state is a map of tensors that checkpoints save and
// restore bit for bit.
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "empo/rl/config.h"

namespace empo::rl {

struct AdamWSettings {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
  double weight_decay = 0.0;
};

// One torch.optim.AdamW update, in place, of float32 `weights` with their float32 moments at
// step count `step` (1-based, already incremented), for lists of tensors at once: each
// arithmetic step is one foreach call over a group of tensors (a few kernels per group instead
// of ~8 per tensor), the groups bounded in elements so the temporary denominators stay small.
// The same element-wise arithmetic as one tensor at a time, bit for bit. The replicated AdamW
// below and the sharded optimizer (zero_optimizer.h) both update through it.
void adamw_update(const std::vector<at::Tensor>& weights, const std::vector<at::Tensor>& grads,
                  const std::vector<at::Tensor>& exp_avg, const std::vector<at::Tensor>& exp_avg_sq,
                  const AdamWSettings& settings, double lr, int64_t step);

class AdamW {
 public:
  AdamW(std::vector<at::Tensor> parameters, const AdamWSettings& settings);
  // One update with the parameters' current .grad() at learning rate lr.
  void step(double lr);
  void zero_grad();
  int64_t steps() const { return steps_; }

  // exp_avg.<i>, exp_avg_sq.<i>, master.<i> (float32 weights of bf16 parameters) and the step
  // count, for checkpoints.
  std::map<std::string, at::Tensor> state() const;
  void load_state(const std::map<std::string, at::Tensor>& state);

 private:
  std::vector<at::Tensor> parameters_;
  std::vector<at::Tensor> exp_avg_;
  std::vector<at::Tensor> exp_avg_sq_;
  std::vector<at::Tensor> master_;  // float32 copies of non-float32 parameters, else undefined
  AdamWSettings settings_;
  int64_t steps_ = 0;
};

// Scales gradients so their global L2 norm is at most max_norm (0: no clipping); returns the
// norm before clipping. One host synchronisation; a non-finite norm scales nothing.
double clip_grad_norm(const std::vector<at::Tensor>& parameters, double max_norm);

struct UpdateOutcome {
  double grad_norm = 0;
  bool applied = false;  // false: the loss or the norm was not finite, nothing was changed
};

// Clips and takes one AdamW step, unless the step's loss or gradient norm is NaN/Inf: then
// the update is skipped, so weights, moments and the step count stay as they were (without
// this a NaN norm would skip clipping and AdamW would write NaN everywhere). The gradients
// are cleared either way.
UpdateOutcome guarded_step(AdamW& optimizer, const std::vector<at::Tensor>& parameters, double loss,
                           double max_norm, double lr);

// Learning rate at optimizer step `step` (0-based) of `total_steps`, with linear warmup.
double scheduled_lr(double base_lr, LrSchedulerType type, long warmup_steps, long total_steps,
                    long step);

}  // namespace empo::rl
