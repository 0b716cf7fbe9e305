#include "empo/rl/optimizer.h"

#include <gtest/gtest.h>

#include <cmath>

namespace empo::rl {

TEST(AdamW, TwoStepsByHand) {
  auto parameter = at::tensor({1.0f, -2.0f}).requires_grad_(true);
  AdamW optimizer({parameter}, {0.9, 0.99, 1e-8, 0.1});
  double p[2] = {1.0, -2.0}, m[2] = {0, 0}, v[2] = {0, 0};
  const double grads[2][2] = {{0.5, -1.0}, {0.25, 2.0}};
  for (int step = 1; step <= 2; ++step) {
    parameter.mutable_grad() = at::tensor(
        {static_cast<float>(grads[step - 1][0]), static_cast<float>(grads[step - 1][1])});
    optimizer.step(0.01);
    for (int i = 0; i < 2; ++i) {
      const double g = grads[step - 1][i];
      p[i] *= 1 - 0.01 * 0.1;
      m[i] = 0.9 * m[i] + 0.1 * g;
      v[i] = 0.99 * v[i] + 0.01 * g * g;
      const double m_hat = m[i] / (1 - std::pow(0.9, step));
      const double v_hat = v[i] / (1 - std::pow(0.99, step));
      p[i] -= 0.01 * m_hat / (std::sqrt(v_hat) + 1e-8);
      EXPECT_NEAR(parameter[i].item<double>(), p[i], 1e-6) << step << " " << i;
    }
  }
  EXPECT_EQ(optimizer.steps(), 2);
}

TEST(AdamW, StateRoundTrip) {
  auto a = at::tensor({1.0f, 2.0f}).requires_grad_(true);
  AdamW first({a}, {});
  a.mutable_grad() = at::tensor({0.1f, 0.2f});
  first.step(0.1);
  auto b = a.detach().clone().requires_grad_(true);
  AdamW second({b}, {});
  second.load_state(first.state());
  a.mutable_grad() = at::tensor({0.3f, -0.2f});
  b.mutable_grad() = at::tensor({0.3f, -0.2f});
  first.step(0.1);
  second.step(0.1);
  EXPECT_TRUE(a.equal(b));
}

TEST(AdamW, Bfloat16WeightsKeepFloat32MasterWeights) {
  // Each step moves the weight by ~lr = 1e-4, far below bf16's spacing at 1.0 (2^-7): without
  // a float32 master copy every step would round back to 1.0.
  auto parameter = at::ones({1}, at::kBFloat16).requires_grad_(true);
  AdamW optimizer({parameter}, {});
  for (int step = 0; step < 100; ++step) {
    parameter.mutable_grad() = at::ones({1}, at::kBFloat16);
    optimizer.step(1e-4);
  }
  EXPECT_EQ(parameter.scalar_type(), at::kBFloat16);
  EXPECT_NEAR(parameter.item<float>(), 0.99, 0.004);
  EXPECT_NEAR(optimizer.state().at("master.0").item<double>(), 1.0 - 100 * 1e-4, 1e-5);
  // The master copy survives a state round trip (exact resume of bf16 training).
  auto copy = parameter.detach().clone().requires_grad_(true);
  AdamW resumed({copy}, {});
  resumed.load_state(optimizer.state());
  EXPECT_TRUE(resumed.state().at("master.0").equal(optimizer.state().at("master.0")));
}

TEST(ClipGradNorm, ScalesToMaxNorm) {
  auto a = at::zeros({2}).requires_grad_(true);
  a.mutable_grad() = at::tensor({3.0f, 4.0f});
  EXPECT_NEAR(clip_grad_norm({a}, 1.0), 5.0, 1e-6);
  EXPECT_NEAR(a.grad().norm().item<double>(), 1.0, 1e-5);
  EXPECT_NEAR(clip_grad_norm({a}, 0.0), 1.0, 1e-5);  // 0: report only
}

TEST(Schedules, MatchTransformers) {
  EXPECT_EQ(scheduled_lr(1.0, LrSchedulerType::constant, 5, 100, 0), 1.0);
  EXPECT_EQ(scheduled_lr(1.0, LrSchedulerType::linear, 4, 104, 0), 0.0);
  EXPECT_EQ(scheduled_lr(1.0, LrSchedulerType::linear, 4, 104, 2), 0.5);
  EXPECT_EQ(scheduled_lr(1.0, LrSchedulerType::linear, 4, 104, 54), 0.5);
  EXPECT_NEAR(scheduled_lr(1.0, LrSchedulerType::cosine, 0, 100, 50), 0.5, 1e-12);
  EXPECT_NEAR(scheduled_lr(1.0, LrSchedulerType::cosine, 0, 100, 100), 0.0, 1e-12);
  EXPECT_EQ(scheduled_lr(1.0, LrSchedulerType::constant_with_warmup, 4, 100, 50), 1.0);
}

}  // namespace empo::rl

namespace empo::rl {

TEST(GuardedStep, NonFiniteGradientLeavesWeightsAndMomentsAlone) {
  auto parameter = at::tensor({1.0f, -2.0f}).requires_grad_(true);
  AdamW optimizer({parameter}, {0.9, 0.999, 1e-8, 0.0});
  parameter.mutable_grad() = at::tensor({0.5f, 0.5f});
  ASSERT_TRUE(guarded_step(optimizer, {parameter}, 1.0, 1.0, 0.1).applied);
  auto weights = parameter.detach().clone();
  std::map<std::string, at::Tensor> moments;  // copies: state() hands out the live tensors
  for (const auto& [name, tensor] : optimizer.state()) moments[name] = tensor.clone();
  // A NaN gradient: its norm is NaN, clipping cannot help, the update is skipped.
  parameter.mutable_grad() = at::tensor({NAN, 0.5f});
  auto outcome = guarded_step(optimizer, {parameter}, 1.0, 1.0, 0.1);
  EXPECT_FALSE(outcome.applied);
  EXPECT_TRUE(std::isnan(outcome.grad_norm));
  EXPECT_TRUE(parameter.detach().equal(weights));
  EXPECT_EQ(optimizer.steps(), 1);
  for (const auto& [name, tensor] : optimizer.state())
    EXPECT_TRUE(tensor.equal(moments.at(name))) << name;
  EXPECT_FALSE(parameter.grad().defined());  // cleared for the next step
  // A non-finite loss with a finite gradient is skipped too.
  parameter.mutable_grad() = at::tensor({0.5f, 0.5f});
  EXPECT_FALSE(guarded_step(optimizer, {parameter}, INFINITY, 1.0, 0.1).applied);
  EXPECT_TRUE(parameter.detach().equal(weights));
}

TEST(ClipGradNorm, OneStackedNormOverEveryParameter) {
  auto a = at::zeros({2}).requires_grad_(true);
  auto b = at::zeros({1}).requires_grad_(true);
  a.mutable_grad() = at::tensor({3.0f, 0.0f});
  b.mutable_grad() = at::tensor({4.0f});
  EXPECT_NEAR(clip_grad_norm({a, b}, 1.0), 5.0, 1e-6);
  EXPECT_NEAR(a.grad()[0].item<double>(), 3.0 / (5.0 + 1e-6), 1e-6);
  EXPECT_NEAR(b.grad()[0].item<double>(), 4.0 / (5.0 + 1e-6), 1e-6);
}

}  // namespace empo::rl
