#include "empo/model/logprobs.h"

#include <algorithm>
#include <cmath>

#include "empo/model/transformer.h"

namespace empo::model {

namespace {

at::Tensor chunk_logits(const at::Tensor& hidden, const at::Tensor& lm_head, double temperature) {
  auto logits = at::matmul(hidden, lm_head.t()).to(at::kFloat);  // (n, V)
  return temperature == 1.0 ? logits : logits / temperature;
}

class ChunkedLogprobs : public torch::autograd::Function<ChunkedLogprobs> {
 public:
  // Outputs: log p(target) (differentiable) and the distribution's entropy, which costs no
  // extra matmul here (the trainer logs it) and carries no gradient.
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* context,
                                                const at::Tensor& hidden, const at::Tensor& lm_head,
                                                const at::Tensor& targets, double temperature,
                                                int64_t chunk_rows, bool with_entropy) {
    context->save_for_backward({hidden, lm_head, targets});
    context->saved_data["temperature"] = temperature;
    context->saved_data["chunk_rows"] = chunk_rows;
    const int64_t N = hidden.size(0);
    auto logprobs = at::empty({N}, hidden.options().dtype(at::kFloat));
    auto entropy = at::empty({with_entropy ? N : 0}, hidden.options().dtype(at::kFloat));
    for (int64_t start = 0; start < N; start += chunk_rows) {
      const int64_t n = std::min(chunk_rows, N - start);
      auto log_p =
          at::log_softmax(chunk_logits(hidden.narrow(0, start, n), lm_head, temperature), 1);
      logprobs.narrow(0, start, n)
          .copy_(log_p.gather(1, targets.narrow(0, start, n).unsqueeze(1)).squeeze(1));
      if (with_entropy) entropy.narrow(0, start, n).copy_(-(log_p.exp() * log_p).sum(1));
    }
    context->mark_non_differentiable({entropy});
    return {logprobs, entropy};
  }

  // d logp_i / d logits_i = onehot(target_i) - softmax_i, scaled by 1/temperature.
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* context,
                                                 torch::autograd::variable_list grad_outputs) {
    auto saved = context->get_saved_variables();
    const auto& hidden = saved[0];
    const auto& lm_head = saved[1];
    const auto& targets = saved[2];
    const double temperature = context->saved_data["temperature"].toDouble();
    const int64_t chunk_rows = context->saved_data["chunk_rows"].toInt();
    auto grad_output = grad_outputs[0].to(at::kFloat);  // (N)
    const int64_t N = hidden.size(0);
    // A frozen head (LoRA) gets no gradient: at 7B its (V, C) would be 1 GB in bf16. A trained
    // one is summed in its own dtype: each chunk's product accumulates in float32 inside the
    // GEMM (addmm) and rounds once into the sum, so no float32 (V, C) copy exists.
    const bool hidden_needs_grad = context->needs_input_grad(0);
    const bool head_needs_grad = context->needs_input_grad(1);
    at::Tensor grad_hidden = hidden_needs_grad ? at::empty_like(hidden) : at::Tensor();
    at::Tensor grad_head = head_needs_grad ? at::zeros_like(lm_head) : at::Tensor();  // (V, C)
    for (int64_t start = 0; start < N && (hidden_needs_grad || head_needs_grad);
         start += chunk_rows) {
      const int64_t n = std::min(chunk_rows, N - start);
      auto hidden_chunk = hidden.narrow(0, start, n);
      auto probabilities = at::softmax(chunk_logits(hidden_chunk, lm_head, temperature), 1);
      auto weight = grad_output.narrow(0, start, n).unsqueeze(1);  // (n, 1)
      auto grad_logits = probabilities.mul_(weight).neg_();        // (n, V)
      grad_logits.scatter_add_(1, targets.narrow(0, start, n).unsqueeze(1), weight);
      if (temperature != 1.0) grad_logits.div_(temperature);
      auto grad_logits_typed = grad_logits.to(hidden.scalar_type());  // (n, V)
      if (hidden_needs_grad)
        grad_hidden.narrow(0, start, n).copy_(at::matmul(grad_logits_typed, lm_head));
      if (head_needs_grad) grad_head.addmm_(grad_logits_typed.t(), hidden_chunk);
    }
    return {grad_hidden, grad_head, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

LogprobsAndEntropy token_logprobs_and_entropy(const at::Tensor& hidden, const at::Tensor& lm_head,
                                              const at::Tensor& targets, double temperature,
                                              int64_t chunk_rows) {
  auto outputs = ChunkedLogprobs::apply(hidden, lm_head, targets.to(at::kLong), temperature,
                                        chunk_rows, /*with_entropy=*/true);
  return {outputs[0], outputs[1]};
}

at::Tensor token_logprobs(const at::Tensor& hidden, const at::Tensor& lm_head,
                          const at::Tensor& targets, double temperature, int64_t chunk_rows) {
  return ChunkedLogprobs::apply(hidden, lm_head, targets.to(at::kLong), temperature, chunk_rows,
                                /*with_entropy=*/false)[0];
}

TokenStatistics token_statistics(const at::Tensor& hidden, const at::Tensor& lm_head,
                                 const at::Tensor& targets, double temperature,
                                 int64_t chunk_rows) {
  at::NoGradGuard no_grad;
  const int64_t N = hidden.size(0);
  const double log_vocab = std::log(static_cast<double>(lm_head.size(0)));
  auto options = hidden.options().dtype(at::kFloat);
  TokenStatistics statistics{at::empty({N}, options), at::empty({N}, options),
                             at::empty({N}, options)};
  auto target_ids = targets.to(at::kLong);
  for (int64_t start = 0; start < N; start += chunk_rows) {
    const int64_t n = std::min(chunk_rows, N - start);
    auto log_p = at::log_softmax(chunk_logits(hidden.narrow(0, start, n), lm_head, temperature), 1);
    statistics.logprobs.narrow(0, start, n)
        .copy_(log_p.gather(1, target_ids.narrow(0, start, n).unsqueeze(1)).squeeze(1));
    statistics.entropy.narrow(0, start, n).copy_(-(log_p.exp() * log_p).sum(1));
    statistics.self_certainty.narrow(0, start, n).copy_(-log_vocab - log_p.mean(1));
  }
  return statistics;
}

std::vector<std::vector<float>> sequence_logprobs(
    const Model& model, const std::vector<std::vector<int64_t>>& sequences, int64_t batch_size) {
  at::NoGradGuard no_grad;
  std::vector<std::vector<float>> result(sequences.size());
  auto device = model.weights.embed_tokens.device();
  for (size_t first = 0; first < sequences.size(); first += batch_size) {
    const size_t last = std::min(sequences.size(), first + static_cast<size_t>(batch_size));
    int64_t T = 1;
    for (size_t i = first; i < last; ++i) T = std::max<int64_t>(T, sequences[i].size());
    const int64_t B = static_cast<int64_t>(last - first);
    // Rows built on the host in one buffer each, then one copy apiece (indexing a tensor per
    // element is a dispatch per token).
    std::vector<int64_t> id_values(B * T, 0), mask_values(B * T, 0);
    for (int64_t row = 0; row < B; ++row) {
      const auto& sequence = sequences[first + row];
      std::copy(sequence.begin(), sequence.end(), id_values.begin() + row * T);
      std::fill_n(mask_values.begin() + row * T, sequence.size(), 1);
    }
    auto ids = at::tensor(id_values, at::kLong).view({B, T});     // (B, T)
    auto mask = at::tensor(mask_values, at::kLong).view({B, T});  // (B, T)
    auto hidden =                                                 // (B, T, C)
        forward_hidden(model, make_batch(ids.to(device), mask.to(device), Padding::right));
    if (T < 2) continue;
    auto predicting = hidden.narrow(1, 0, T - 1).reshape({B * (T - 1), -1});
    auto targets = ids.narrow(1, 1, T - 1).reshape({-1}).to(device);
    auto logprobs = token_statistics(predicting, model.weights.lm_head, targets).logprobs;
    logprobs = logprobs.view({B, T - 1}).to(at::kCPU).contiguous();
    for (int64_t row = 0; row < B; ++row) {
      const int64_t count = std::max<int64_t>(0, sequences[first + row].size() - 1);
      const float* values = logprobs[row].data_ptr<float>();
      result[first + row].assign(values, values + count);
    }
  }
  return result;
}

}  // namespace empo::model
