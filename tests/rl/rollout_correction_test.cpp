#include "empo/rl/rollout_correction.h"

#include <gtest/gtest.h>

#include <cmath>

namespace empo::rl {
namespace {

// Two sequences of three tokens, the second with two that count. Log-ratios old - engine:
// row 0: 0.5, -0.2, 1.5; row 1: 0.3, 0.9, (masked).
struct Case {
  at::Tensor old_logprobs = at::tensor({-1.0f, -2.0f, -0.5f, -0.7f, -0.1f, -3.0f}).view({2, 3});
  at::Tensor engine_logprobs = at::tensor({-1.5f, -1.8f, -2.0f, -1.0f, -1.0f, -1.0f}).view({2, 3});
  at::Tensor mask = at::tensor({1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 0.0f}).view({2, 3});
};

Correction correct(ImportanceCorrection mode, double cap) {
  Case c;
  return rollout_correction(c.old_logprobs, c.engine_logprobs, c.mask, {mode, cap});
}

void expect_weights(const Correction& correction, const std::vector<double>& expected) {
  ASSERT_TRUE(correction.weights.defined());
  auto weights = correction.weights.contiguous().view({-1});
  ASSERT_EQ(weights.numel(), static_cast<int64_t>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(weights[static_cast<int64_t>(i)].item<double>(), expected[i], 1e-5) << i;
}

std::vector<double> statistics(const Correction& correction) {
  auto host = correction.statistics.contiguous();
  return {host[0].item<double>(), host[1].item<double>(), host[2].item<double>()};
}

TEST(RolloutCorrection, TokenWeightsTruncatedOrMaskedAtTheCap) {
  // exp(0.5) = 1.6487, exp(-0.2) = 0.8187, exp(1.5) = 4.4817 > 2, exp(0.3) = 1.3499,
  // exp(0.9) = 2.4596 > 2; the masked token's log-ratio counts as 0 (weight 1, loss masked).
  expect_weights(correct(ImportanceCorrection::token_truncate, 2.0),
                 {std::exp(0.5), std::exp(-0.2), 2.0, std::exp(0.3), 2.0, 1.0});
  expect_weights(correct(ImportanceCorrection::token_mask, 2.0),
                 {std::exp(0.5), std::exp(-0.2), 0.0, std::exp(0.3), 0.0, 1.0});
  auto sums = statistics(correct(ImportanceCorrection::token_mask, 2.0));
  EXPECT_NEAR(sums[kAbsLogprobDifference], 0.5 + 0.2 + 1.5 + 0.3 + 0.9, 1e-5);
  EXPECT_EQ(sums[kCappedUnits], 2.0);
  EXPECT_EQ(sums[kCorrectionUnits], 5.0);
}

TEST(RolloutCorrection, SequenceWeightsAreTheProductOverTheSequence) {
  // Row 0: exp(0.5 - 0.2 + 1.5) = exp(1.8) = 6.05 > 5; row 1: exp(1.2) = 3.32.
  expect_weights(correct(ImportanceCorrection::sequence_truncate, 5.0),
                 {5.0, 5.0, 5.0, std::exp(1.2), std::exp(1.2), std::exp(1.2)});
  auto masked = correct(ImportanceCorrection::sequence_mask, 5.0);
  expect_weights(masked, {0.0, 0.0, 0.0, std::exp(1.2), std::exp(1.2), std::exp(1.2)});
  auto sums = statistics(masked);
  EXPECT_EQ(sums[kCappedUnits], 1.0);
  EXPECT_EQ(sums[kCorrectionUnits], 2.0);
}

TEST(RolloutCorrection, NoneWeighsNothingButStillMeasures) {
  auto none = correct(ImportanceCorrection::none, 3.0);
  EXPECT_FALSE(none.weights.defined());
  EXPECT_NEAR(statistics(none)[kAbsLogprobDifference], 3.4, 1e-5);
  EXPECT_EQ(statistics(none)[kCappedUnits], 1.0);  // only exp(1.5) is above 3
}

}  // namespace
}  // namespace empo::rl
