#pragma once
// Per-token log-probabilities of given targets without materialising (N, V) logits: rows are
// processed in chunks, and the backward pass recomputes each chunk's softmax instead of
// keeping it (V is 152k for Qwen; (B, T, V) in float32 would dwarf the model).
#include <torch/torch.h>

#include <vector>

#include "empo/model/weights.h"

namespace empo::model {

// log softmax(hidden @ lm_head^T / temperature)[target] per row, differentiable w.r.t. hidden
// and lm_head. hidden (N, C), lm_head (V, C), targets (N) int64 -> (N) float32.
at::Tensor token_logprobs(const at::Tensor& hidden, const at::Tensor& lm_head,
                          const at::Tensor& targets, double temperature = 1.0,
                          int64_t chunk_rows = 1024);

// The same forward pass also yields each row's entropy H(p) (no gradient), for metrics.
struct LogprobsAndEntropy {
  at::Tensor logprobs;  // (N), differentiable
  at::Tensor entropy;   // (N), detached
};
LogprobsAndEntropy token_logprobs_and_entropy(const at::Tensor& hidden, const at::Tensor& lm_head,
                                              const at::Tensor& targets, double temperature = 1.0,
                                              int64_t chunk_rows = 1024);

struct TokenStatistics {
  at::Tensor logprobs;        // (N) log p(target)
  at::Tensor entropy;         // (N) H(p) in nats
  at::Tensor self_certainty;  // (N) KL(uniform || p) = -log V - mean_v log p_v
};
// The same distribution's statistics without gradients (rewards and metrics).
TokenStatistics token_statistics(const at::Tensor& hidden, const at::Tensor& lm_head,
                                 const at::Tensor& targets, double temperature = 1.0,
                                 int64_t chunk_rows = 1024);

// Teacher-forced scoring of whole token sequences: for each sequence, log p(x_t | x_<t) for
// t = 1..T-1, computed in right-padded batches without gradients.
std::vector<std::vector<float>> sequence_logprobs(
    const Model& model, const std::vector<std::vector<int64_t>>& sequences, int64_t batch_size = 8);

}  // namespace empo::model
