#include "empo/rl/update.h"

#include <algorithm>

#include "empo/model/device.h"
#include "empo/model/logprobs.h"
#include "empo/model/transformer.h"

namespace empo::rl {

TrainSample make_train_sample(const std::vector<int64_t>& prompt, const generate::Sample& sample,
                              double advantage) {
  TrainSample result;
  result.prompt = &prompt;
  result.completion = sample.tokens;
  result.truncated = sample.finish == generate::FinishReason::kLength;
  result.advantage = advantage;
  result.sampling_logprobs = sample.sampling_logprobs;
  return result;
}

PackedBatch pack(const std::vector<const TrainSample*>& samples, bool mask_truncated,
                 const at::Device& device) {
  const int64_t n = static_cast<int64_t>(samples.size());
  int64_t T = 1, K = 1;
  for (const auto* sample : samples) {
    T = std::max<int64_t>(T, sample->prompt->size() + sample->completion.size());
    K = std::max<int64_t>(K, sample->completion.size());
  }
  std::vector<int64_t> ids(n * T, 0), attention(n * T, 0), predicting(n * K, 0), targets(n * K, 0);
  std::vector<float> mask(n * K, 0.0f);
  for (int64_t row = 0; row < n; ++row) {
    const auto& prompt = *samples[row]->prompt;
    const auto& completion = samples[row]->completion;
    const int64_t P = static_cast<int64_t>(prompt.size());
    for (int64_t t = 0; t < P; ++t) ids[row * T + t] = prompt[t];
    for (size_t k = 0; k < completion.size(); ++k) ids[row * T + P + k] = completion[k];
    for (int64_t t = 0; t < P + static_cast<int64_t>(completion.size()); ++t)
      attention[row * T + t] = 1;
    const bool counts = !(mask_truncated && samples[row]->truncated);
    for (size_t k = 0; k < completion.size(); ++k) {
      predicting[row * K + k] = row * T + P - 1 + static_cast<int64_t>(k);
      targets[row * K + k] = completion[k];
      mask[row * K + k] = counts ? 1.0f : 0.0f;
    }
  }
  auto longs = [&](std::vector<int64_t>& values, std::vector<int64_t> shape) {
    return model::to_device(at::tensor(values, at::kLong).view(shape), device);
  };
  return {longs(ids, {n, T}),
          longs(attention, {n, T}),
          longs(predicting, {n * K}),
          longs(targets, {n * K}),
          model::to_device(at::tensor(mask).view({n, K}), device),
          K};
}

at::Tensor completion_hidden(const model::Model& model, const PackedBatch& batch) {
  auto hidden =  // (n, T, C)
      model::forward_hidden(
          model, model::make_batch(batch.input_ids, batch.attention_mask, model::Padding::right));
  return hidden.reshape({-1, hidden.size(-1)}).index_select(0, batch.predicting);
}

std::vector<const TrainSample*> sample_rows(const std::vector<TrainSample>& samples,
                                            std::size_t first, std::size_t last) {
  std::vector<const TrainSample*> rows;
  for (std::size_t i = first; i < last; ++i) rows.push_back(&samples[i]);
  return rows;
}

at::Tensor stack_rows(const std::vector<const TrainSample*>& samples,
                      std::vector<float> TrainSample::*member, int64_t K,
                      const at::Device& device) {
  std::vector<float> values(samples.size() * K, 0.0f);
  for (size_t row = 0; row < samples.size(); ++row) {
    const auto& source = samples[row]->*member;
    std::copy(source.begin(), source.end(), values.begin() + row * K);
  }
  return model::to_device(at::tensor(values).view({static_cast<int64_t>(samples.size()), K}),
                          device);
}

void store_logprobs(std::vector<TrainSample>& samples, std::vector<float> TrainSample::*member,
                    const model::Model& model, double temperature, std::size_t micro_batch_size,
                    const at::Device& device) {
  at::NoGradGuard no_grad;
  const std::size_t size = micro_batch_size > 0 ? micro_batch_size : samples.size();
  for (std::size_t first = 0; first < samples.size(); first += size) {
    const std::size_t last = std::min(samples.size(), first + size);
    auto batch = pack(sample_rows(samples, first, last), false, device);
    auto logprobs = model::token_logprobs(completion_hidden(model, batch), model.weights.lm_head,
                                          batch.targets, temperature)
                        .view({-1, batch.K})  // (n, K)
                        .to(at::kCPU, at::kFloat)
                        .contiguous();
    for (std::size_t i = first; i < last; ++i) {
      const float* row = logprobs.data_ptr<float>() + (i - first) * batch.K;
      samples[i].*member = std::vector<float>(row, row + samples[i].completion.size());
    }
  }
}

bool needs_old_logprobs(const TrainConfig& config) {
  return config.num_iterations > 1 || config.steps_per_generation > 1;
}

LossSettings loss_settings(const TrainConfig& config) {
  return {config.loss_type, config.epsilon, config.epsilon_high, config.beta};
}

StepCounts count_step(const std::vector<TrainSample>& samples, const StepPlan& step,
                      bool mask_truncated) {
  StepCounts counts;
  counts.chunk_tokens.assign(step.chunk_samples.size(), 0.0);
  for (const auto& micro : step.micro_batches)
    for (std::size_t i = micro.first; i < micro.last; ++i) {
      const auto& sample = samples[i];
      const double tokens = (mask_truncated && sample.truncated)
                                ? 0.0
                                : static_cast<double>(sample.completion.size());
      counts.chunk_tokens[micro.chunk] += tokens;
      counts.tokens += tokens;
    }
  counts.sequences = static_cast<double>(step.samples());
  return counts;
}

LossNormalizers loss_normalizers(const TrainConfig& config, const StepCounts& global,
                                 const StepCounts& local, std::size_t chunk, int world_size) {
  LossNormalizers normalizers;
  normalizers.sequences = std::max(1.0, global.sequences);
  normalizers.max_completion_length = static_cast<double>(config.max_completion_length);
  if (config.loss_type == LossType::bnpo) {
    const double chunks = static_cast<double>(local.chunk_tokens.size());
    normalizers.tokens =
        std::max(1.0, local.chunk_tokens.at(chunk)) * chunks * static_cast<double>(world_size);
  } else {
    normalizers.tokens = std::max(1.0, global.tokens);
  }
  return normalizers;
}

}  // namespace empo::rl
