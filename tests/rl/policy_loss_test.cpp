#include "empo/rl/policy_loss.h"

#include <gtest/gtest.h>

#include <cmath>

namespace empo::rl {

namespace {

// Two sequences of lengths 3 and 2 (K = 3), hand-picked log-probs.
struct Case {
  at::Tensor logprobs =
      at::tensor({-1.0, -0.5, -2.0, -0.3, -1.2, 0.0}).view({2, 3}).requires_grad_(true);
  at::Tensor old_logprobs = at::tensor({-1.1, -0.5, -1.6, -0.3, -0.9, 0.0}).view({2, 3});
  at::Tensor ref_logprobs = at::tensor({-0.9, -0.7, -2.0, -0.5, -1.2, 0.0}).view({2, 3});
  at::Tensor advantages = at::tensor({1.0, -2.0});
  at::Tensor mask = at::tensor({1.0, 1.0, 1.0, 1.0, 1.0, 0.0}).view({2, 3});
  PolicyLossInputs inputs() { return {logprobs, old_logprobs, ref_logprobs, advantages, mask, {}}; }
};

// Per-token loss and its derivative d/d logp computed by hand in double precision.
struct TokenTerm {
  double loss;
  double grad;
};
TokenTerm hand_token(double logp, double old, double ref, double advantage, double epsilon,
                     double epsilon_high, double beta) {
  const double ratio = std::exp(logp - old);
  const double clipped = std::min(std::max(ratio, 1 - epsilon), 1 + epsilon_high);
  const double unclipped_term = ratio * advantage, clipped_term = clipped * advantage;
  TokenTerm term;
  // -min(r A, clip(r) A): the gradient flows only when the unclipped term is the minimum.
  if (unclipped_term <= clipped_term) {
    term = {-unclipped_term, -unclipped_term};
  } else {
    term = {-clipped_term, 0.0};
  }
  const double delta = ref - logp;
  term.loss += beta * (std::exp(delta) - delta - 1);
  term.grad += beta * (-std::exp(delta) + 1);
  return term;
}

}  // namespace

class LossTypes : public ::testing::TestWithParam<LossType> {};

TEST_P(LossTypes, ValueAndGradientMatchTheHandComputation) {
  const LossType type = GetParam();
  Case c;
  LossSettings settings{type, 0.2, 0.28, 0.1};
  LossNormalizers normalizers{2, 5, 4};
  auto result = policy_loss(c.inputs(), settings, normalizers);
  result.loss.backward();

  auto at = [](const at::Tensor& t, int n, int k) { return t[n][k].item<double>(); };
  double expected = 0;
  double grads[2][3] = {};
  const int lengths[2] = {3, 2};
  for (int n = 0; n < 2; ++n) {
    double sequence_log_ratio = 0;
    for (int k = 0; k < lengths[n]; ++k)
      sequence_log_ratio += at(c.logprobs, n, k) - at(c.old_logprobs, n, k);
    sequence_log_ratio /= lengths[n];
    for (int k = 0; k < lengths[n]; ++k) {
      double logp = at(c.logprobs, n, k), old = at(c.old_logprobs, n, k);
      double advantage = c.advantages[n].item<double>();
      TokenTerm term;
      if (type == LossType::gspo) {
        // The sequence ratio exp(mean log-ratio) enters all `length` tokens' losses, and each
        // token's logp moves it by 1/length: d/dlogp = the sequence term's derivative.
        TokenTerm sequence = hand_token(sequence_log_ratio, 0.0, 0.0, advantage, 0.2, 0.28, 0.0);
        TokenTerm kl = hand_token(logp, logp, at(c.ref_logprobs, n, k), 0.0, 0.2, 0.28, 0.1);
        term = {sequence.loss + kl.loss, sequence.grad + kl.grad};
      } else {
        term = hand_token(logp, old, at(c.ref_logprobs, n, k), advantage, 0.2, 0.28, 0.1);
      }
      double weight = type == LossType::grpo || type == LossType::gspo ? 1.0 / (lengths[n] * 2.0)
                      : type == LossType::dr_grpo                      ? 1.0 / (2.0 * 4.0)
                                                                       : 1.0 / 5.0;
      expected += weight * term.loss;
      grads[n][k] = weight * term.grad;
    }
  }
  EXPECT_NEAR(result.loss.item<double>(), expected, 1e-5);
  for (int n = 0; n < 2; ++n)
    for (int k = 0; k < 3; ++k)
      EXPECT_NEAR(c.logprobs.grad()[n][k].item<double>(), grads[n][k], 1e-5) << n << "," << k;
  auto statistics = read_statistics(result.statistics);
  EXPECT_EQ(statistics[kCounted], 5.0);
  EXPECT_GT(statistics[kKlSum], 0.0);
}

INSTANTIATE_TEST_SUITE_P(All, LossTypes,
                         ::testing::Values(LossType::grpo, LossType::dapo, LossType::bnpo,
                                           LossType::dr_grpo, LossType::gspo));

TEST(PolicyLoss, OnPolicyRatioIsOneAndGradientIsAdvantageWeighted) {
  // num_iterations = 1: old = current (detached), the loss gradient is -A / length per token.
  auto logprobs = at::tensor({-1.0, -2.0}).view({1, 2}).requires_grad_(true);
  PolicyLossInputs inputs{logprobs,          logprobs.detach(), at::Tensor(),
                          at::tensor({3.0}), at::ones({1, 2}),  {}};
  auto result = policy_loss(inputs, {LossType::grpo, 0.2, 0.2, 0.0}, {1, 2, 2});
  result.loss.backward();
  EXPECT_NEAR(result.loss.item<double>(), -3.0, 1e-6);
  EXPECT_NEAR(logprobs.grad()[0][0].item<double>(), -1.5, 1e-6);
  auto statistics = read_statistics(result.statistics);
  EXPECT_EQ(statistics[kClippedLow] + statistics[kClippedHigh], 0.0);
}

// The rollout correction weighs each token's surrogate, not its KL term: on-policy with
// weights w, the gradient is -w A / length per token, and the KL part stays unweighted.
TEST(PolicyLoss, ImportanceWeightsScaleTheSurrogateNotTheKl) {
  auto logprobs = at::tensor({-1.0, -2.0}).view({1, 2}).requires_grad_(true);
  auto ref = at::tensor({-1.5, -2.0}).view({1, 2});
  PolicyLossInputs inputs{logprobs,          logprobs.detach(), ref,
                          at::tensor({3.0}), at::ones({1, 2}),  {}};
  inputs.importance_weights = at::tensor({0.5, 2.0}).view({1, 2}).to(at::kDouble);
  auto result = policy_loss(inputs, {LossType::grpo, 0.2, 0.2, 0.1}, {1, 2, 2});
  result.loss.backward();
  // Token 0: -0.5 * 3 + 0.1 k3(-0.5); token 1: -2 * 3 + 0 (ref = logp); mean over 2 tokens.
  const double k3 = std::exp(-0.5) + 0.5 - 1.0;
  EXPECT_NEAR(result.loss.item<double>(), (-1.5 + 0.1 * k3 - 6.0) / 2, 1e-6);
  EXPECT_NEAR(logprobs.grad()[0][0].item<double>(), (-1.5 + 0.1 * (1 - std::exp(-0.5))) / 2, 1e-6);
  EXPECT_NEAR(logprobs.grad()[0][1].item<double>(), -6.0 / 2, 1e-6);
}

TEST(PolicyLoss, ClipCountsFollowTheAdvantageSign) {
  auto logprobs = at::tensor({0.0, 0.0}).view({2, 1}).requires_grad_(true);
  auto old = at::tensor({-1.0, 1.0}).view({2, 1});  // ratios e and 1/e
  PolicyLossInputs up{logprobs, old, at::Tensor(), at::tensor({1.0, -1.0}), at::ones({2, 1}), {}};
  auto result = policy_loss(up, {LossType::dapo, 0.2, 0.2, 0.0}, {2, 2, 1});
  auto statistics = read_statistics(result.statistics);
  EXPECT_EQ(statistics[kClippedHigh], 1.0);
  EXPECT_EQ(statistics[kClippedLow], 1.0);
  EXPECT_EQ(statistics[kClipCounted], 2.0);
}

TEST(PolicyLoss, UpperBoundIsEpsilonHighNotEpsilon) {
  // A ratio of 1.25 lies between 1 + epsilon (1.2) and 1 + epsilon_high (1.28): with a
  // positive advantage it is not clipped, so the gradient flows (-A * ratio per token).
  const double ratio = 1.25;
  auto logprobs = at::tensor({std::log(ratio)}).view({1, 1}).requires_grad_(true);
  PolicyLossInputs inputs{logprobs,          at::zeros({1, 1}), at::Tensor(),
                          at::tensor({1.0}), at::ones({1, 1}),  {}};
  auto result = policy_loss(inputs, {LossType::dapo, 0.2, 0.28, 0.0}, {1, 1, 1});
  result.loss.backward();
  EXPECT_NEAR(result.loss.item<double>(), -ratio, 1e-6);
  EXPECT_NEAR(logprobs.grad()[0][0].item<double>(), -ratio, 1e-6);
  EXPECT_EQ(read_statistics(result.statistics)[kClippedHigh], 0.0);
  // Past 1 + epsilon_high the same sample is clipped: no gradient, counted as clipped high.
  auto far = at::tensor({std::log(1.3)}).view({1, 1}).requires_grad_(true);
  PolicyLossInputs beyond{far, at::zeros({1, 1}), at::Tensor(), at::tensor({1.0}), at::ones({1, 1}),
                          {}};
  auto clipped = policy_loss(beyond, {LossType::dapo, 0.2, 0.28, 0.0}, {1, 1, 1});
  clipped.loss.backward();
  EXPECT_NEAR(clipped.loss.item<double>(), -1.28, 1e-6);
  EXPECT_EQ(far.grad()[0][0].item<double>(), 0.0);
  EXPECT_EQ(read_statistics(clipped.statistics)[kClippedHigh], 1.0);
  // A ratio below 1 - epsilon with a negative advantage is clipped low at 1 - epsilon.
  auto low = at::tensor({std::log(0.7)}).view({1, 1}).requires_grad_(true);
  PolicyLossInputs below{low, at::zeros({1, 1}), at::Tensor(), at::tensor({-1.0}), at::ones({1, 1}),
                         {}};
  auto low_result = policy_loss(below, {LossType::dapo, 0.2, 0.28, 0.0}, {1, 1, 1});
  EXPECT_NEAR(low_result.loss.item<double>(), 0.8, 1e-6);
  EXPECT_EQ(read_statistics(low_result.statistics)[kClippedLow], 1.0);
}

TEST(PolicyLoss, GspoCountsClippedSequencesNotTokens) {
  // Two sequences of 3 and 1 tokens; only the first has a sequence ratio of e (clipped high),
  // so one sequence of two is clipped, whatever the token counts.
  auto logprobs = at::tensor({1.0, 1.0, 1.0, 0.0, 0.0, 0.0}).view({2, 3}).requires_grad_(true);
  auto mask = at::tensor({1.0f, 1.0f, 1.0f, 1.0f, 0.0f, 0.0f}).view({2, 3});
  PolicyLossInputs inputs{logprobs, at::zeros({2, 3}), at::Tensor(), at::tensor({1.0, 1.0}), mask,
                          {}};
  auto result = policy_loss(inputs, {LossType::gspo, 0.2, 0.2, 0.0}, {2, 4, 3});
  auto statistics = read_statistics(result.statistics);
  EXPECT_EQ(statistics[kClippedHigh], 1.0);
  EXPECT_EQ(statistics[kClipCounted], 2.0);
  EXPECT_EQ(statistics[kCounted], 4.0);  // tokens, for the entropy and KL means
}

}  // namespace empo::rl
