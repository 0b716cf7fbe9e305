#include "empo/rl/grad_accumulation.h"

#include <gtest/gtest.h>

#include "empo/model/transformer.h"
#include "empo/model/weights.h"
#include "test_support.h"

namespace empo::rl {

namespace {

// Mean next-token NLL of rows [first, first + count) of ids (B, T), divided by B so that the
// micro-batch losses of a batch sum to the whole batch's loss.
at::Tensor micro_batch_loss(const model::Model& model, const at::Tensor& ids, int64_t first,
                            int64_t count) {
  const int64_t B = ids.size(0), T = ids.size(1);
  auto rows = ids.narrow(0, first, count);
  auto hidden = model::forward_hidden(model, model::make_batch(rows, at::ones_like(rows)));
  auto logits = at::linear(hidden.narrow(1, 0, T - 1), model.weights.lm_head).to(at::kFloat);
  auto logprobs = at::log_softmax(logits, -1).gather(-1, rows.narrow(1, 1, T - 1).unsqueeze(-1));
  return -logprobs.mean({1, 2}).sum() / static_cast<double>(B);
}

// The batch's gradient, one backward per `micro` rows; with `accumulator` the bf16 gradients
// are summed in float32 by it, else by autograd in the parameters' dtype.
std::vector<at::Tensor> batch_gradient(model::Model& model, const at::Tensor& ids, int64_t micro,
                                       bool accumulator) {
  auto parameters = model::parameters(model);
  for (auto& parameter : parameters) {
    parameter.requires_grad_(true);
    parameter.mutable_grad().reset();
  }
  GradAccumulator sums(parameters);
  for (int64_t first = 0; first < ids.size(0); first += micro) {
    micro_batch_loss(model, ids, first, micro).backward();
    if (accumulator) sums.add_micro_batch();
  }
  if (accumulator) sums.finish();
  std::vector<at::Tensor> grads;
  for (auto& parameter : parameters) grads.push_back(parameter.grad().to(at::kFloat));
  return grads;
}

// The exact sum (float64) of the gradients of each micro-batch of `micro` rows, each from its
// own backward: what accumulation should produce, free of any rounding of the running sum.
std::vector<at::Tensor> exact_sum_of_micro_gradients(model::Model& model, const at::Tensor& ids,
                                                     int64_t micro) {
  auto parameters = model::parameters(model);
  std::vector<at::Tensor> sums;
  for (auto& parameter : parameters) {
    parameter.requires_grad_(true);
    sums.push_back(at::zeros(parameter.sizes(), at::kDouble));
  }
  for (int64_t first = 0; first < ids.size(0); first += micro) {
    for (auto& parameter : parameters) parameter.mutable_grad().reset();
    micro_batch_loss(model, ids, first, micro).backward();
    for (size_t i = 0; i < parameters.size(); ++i) sums[i] += parameters[i].grad().to(at::kDouble);
  }
  std::vector<at::Tensor> grads;
  for (auto& sum : sums) grads.push_back(sum.to(at::kFloat));
  return grads;
}

// || a - b || / || b || over all parameters.
double relative_distance(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
  double difference = 0, norm = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    difference += (a[i] - b[i]).to(at::kDouble).pow(2).sum().item<double>();
    norm += b[i].to(at::kDouble).pow(2).sum().item<double>();
  }
  return std::sqrt(difference / norm);
}

}  // namespace

TEST(GradAccumulator, Bfloat16GradientDoesNotDependOnMicroBatchSize) {
  auto config = model::load_model_config(test::fixture("qwen2-tiny"));
  auto generator = at::make_generator<at::CPUGeneratorImpl>(3);
  const int64_t B = 64, T = 12;
  auto ids = at::randint(config.vocab_size, {B, T}, generator, at::kLong);
  auto bf16 = model::random_model(config, 5, {at::kBFloat16, at::kCPU});
  // The reference: the same (bf16-valued) weights in float32, the whole batch in one backward.
  auto f32 = model::random_model(config, 5, {at::kBFloat16, at::kCPU});
  for (auto& parameter : model::parameters(f32)) parameter.set_data(parameter.to(at::kFloat));
  auto reference = batch_gradient(f32, ids, B, false);

  auto accumulated_grads = batch_gradient(bf16, ids, 1, true);
  auto bf16_sum_grads = batch_gradient(bf16, ids, 1, false);
  auto whole = relative_distance(batch_gradient(bf16, ids, B, true), reference);
  auto accumulated = relative_distance(accumulated_grads, reference);
  RecordProperty("whole_batch_vs_f32", std::to_string(whole));
  RecordProperty("micro_1_float32_sum_vs_f32", std::to_string(accumulated));
  // 64 micro-batches summed in float32 are as close to the float32 gradient as one backward
  // over the whole batch: both carry only the bf16 arithmetic of the backward itself.
  EXPECT_LT(accumulated, 1.5 * whole) << whole << " " << accumulated;
  // The running sum itself adds no rounding, while 64 additions into a bf16 .grad() do.
  auto exact = exact_sum_of_micro_gradients(bf16, ids, 1);
  EXPECT_LT(relative_distance(accumulated_grads, exact), 1e-5);
  EXPECT_GT(relative_distance(bf16_sum_grads, exact), 1e-3);
}

TEST(GradAccumulator, HandsOverFloat32GradientsAndClearsBetweenSteps) {
  auto bf16 = at::zeros({3}, at::kBFloat16).requires_grad_(true);
  auto f32 = at::zeros({2}).requires_grad_(true);
  GradAccumulator sums({bf16, f32});
  for (float value : {1.0f, 1.0f / 512}) {  // 1 + 1/512 is not a bf16 number
    ((bf16.to(at::kFloat) * value).sum() + (f32 * value).sum()).backward();
    sums.add_micro_batch();
    EXPECT_FALSE(bf16.grad().defined());  // moved into the float32 sum
  }
  EXPECT_EQ(sums.bytes(), 3 * 4);
  sums.finish();
  EXPECT_EQ(sums.bytes(), 0);
  ASSERT_EQ(bf16.grad().scalar_type(), at::kFloat);
  EXPECT_FLOAT_EQ(bf16.grad()[0].item<float>(), 1.0f + 1.0f / 512);
  EXPECT_FLOAT_EQ(f32.grad()[1].item<float>(), 1.0f + 1.0f / 512);  // autograd's own sum
  // The optimizer's zero_grad clears .grad(); a step without a backward hands over nothing.
  bf16.mutable_grad().reset();
  sums.finish();
  EXPECT_FALSE(bf16.grad().defined());
}

}  // namespace empo::rl
