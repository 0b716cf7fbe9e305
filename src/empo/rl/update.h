#pragma once
// The update stage of a training step: completions as rows to learn from, packed into padded
// batches; log-probs under the rollout policy or the reference; the loss normalisers of a
// step; and the per-step settings read from the config. The trainer walks an UpdatePlan
// (update_plan.h) with these.
#include <torch/torch.h>

#include <vector>

#include "empo/generate/engine.h"
#include "empo/model/weights.h"
#include "empo/rl/config.h"
#include "empo/rl/policy_loss.h"
#include "empo/rl/update_plan.h"

namespace empo::rl {

// One completion to learn from.
struct TrainSample {
  const std::vector<int64_t>* prompt = nullptr;
  std::vector<int64_t> completion;
  bool truncated = false;  // stopped by max_completion_length, not by EOS
  double advantage = 0;
  std::vector<float> old_logprobs;       // under the rollout policy, when a batch feeds >1 update
  std::vector<float> ref_logprobs;       // under the reference, when beta > 0 (or a KL budget)
  std::vector<float> sampling_logprobs;  // the engine's, under the distribution it sampled
};

TrainSample make_train_sample(const std::vector<int64_t>& prompt, const generate::Sample& sample,
                              double advantage);

// Right-padded prompt+completion rows and the rows of hidden states that predict each
// completion token.
struct PackedBatch {
  at::Tensor input_ids;       // (n, T)
  at::Tensor attention_mask;  // (n, T)
  at::Tensor predicting;      // (n * K) flat indices into (n * T)
  at::Tensor targets;         // (n * K)
  at::Tensor mask;            // (n, K) float: 1 on completion tokens that count in the loss
  int64_t K = 0;              // longest completion
};

// mask_truncated: a truncated completion's tokens get mask 0 (mask_truncated_completions).
PackedBatch pack(const std::vector<const TrainSample*>& samples, bool mask_truncated,
                 const at::Device& device);

// Hidden states (n * K, C) that predict the completion tokens.
at::Tensor completion_hidden(const model::Model& model, const PackedBatch& batch);

// Samples [first, last) as pointers, for pack.
std::vector<const TrainSample*> sample_rows(const std::vector<TrainSample>& samples,
                                            std::size_t first, std::size_t last);

// (n, K) of a float member of each sample, zero-padded.
at::Tensor stack_rows(const std::vector<const TrainSample*>& samples,
                      std::vector<float> TrainSample::*member, int64_t K, const at::Device& device);

// Stores every sample's per-token log-probs under `model` (no gradient) into `member`, in
// micro-batches of micro_batch_size samples (0: all at once).
void store_logprobs(std::vector<TrainSample>& samples, std::vector<float> TrainSample::*member,
                    const model::Model& model, double temperature, std::size_t micro_batch_size,
                    const at::Device& device);

// A rollout batch feeds more than one optimizer step when it is cut into several steps or
// passed over several times: the policy then moves between the sampling and later updates,
// and the ratio needs the rollout policy's log-probs (TRL's and verl's rule).
bool needs_old_logprobs(const TrainConfig& config);

// The clip bounds, KL coefficient and aggregation of the config.
LossSettings loss_settings(const TrainConfig& config);

// Token and sequence counts of one optimizer step on this process, reduced over processes
// before loss_normalizers reads them (except chunk_tokens: bnpo normalises per process).
struct StepCounts {
  std::vector<double> chunk_tokens;  // loss tokens of each accumulation chunk, this process
  double tokens = 0;                 // loss tokens of the step
  double sequences = 0;              // completions of the step
};

StepCounts count_step(const std::vector<TrainSample>& samples, const StepPlan& step,
                      bool mask_truncated);

// The normalisers of a micro-batch in accumulation chunk `chunk`, given the step's counts
// summed over every process (`global`) and this process's own (`local`). bnpo follows TRL:
// a token mean over this process's chunk, averaged over the chunks and the processes (the
// gradients are summed over processes, hence the world_size factor).
LossNormalizers loss_normalizers(const TrainConfig& config, const StepCounts& global,
                                 const StepCounts& local, std::size_t chunk, int world_size);

}  // namespace empo::rl
