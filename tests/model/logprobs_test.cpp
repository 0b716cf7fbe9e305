#include "empo/model/logprobs.h"

#include <gtest/gtest.h>

#include "empo/model/transformer.h"
#include "golden.h"

namespace empo::model {

// The completion's log-probs from the final hidden states: position t predicts token t+1.
at::Tensor completion_logprobs(const Model& model, const std::map<std::string, at::Tensor>& g,
                               int64_t chunk_rows) {
  const auto& ids = g.at("pg.input_ids");
  const int64_t B = ids.size(0), T = ids.size(1);
  const int64_t completion = g.at("pg.completion_ids").size(1);
  ForwardBatch batch{ids, g.at("pg.position_ids"), g.at("pg.attention_mask").to(at::kBool)};
  auto hidden = forward_hidden(model, batch);                          // (B, T, C)
  auto predicting = hidden.narrow(1, T - completion - 1, completion);  // (B, K, C)
  auto targets = ids.narrow(1, T - completion, completion);            // (B, K)
  return token_logprobs(predicting.reshape({B * completion, -1}), model.weights.lm_head,
                        targets.reshape({-1}), 1.0, chunk_rows)
      .view({B, completion});
}

class PolicyGradientGolden : public ::testing::TestWithParam<test::GoldenCase> {};

TEST_P(PolicyGradientGolden, LogprobsLossAndEveryGradient) {
  auto model = test::load_golden_model(GetParam());
  auto goldens = test::load_goldens(GetParam().family);
  for (auto& parameter : parameters(model)) parameter.requires_grad_(true);
  // A chunk smaller than the row count exercises the chunked forward and backward.
  auto logprobs = completion_logprobs(model, goldens, /*chunk_rows=*/7);
  EXPECT_LE(test::relative_error(logprobs, goldens["pg.token_logprobs"]), 1e-4);
  auto loss = -(goldens["pg.advantages"].unsqueeze(1) * logprobs).mean();
  EXPECT_LE(test::relative_error(loss.detach().reshape({1}), goldens["pg.loss"]), 1e-4);
  loss.backward();
  int checked = 0;
  for_each_parameter(model.weights, model.config, [&](const std::string& name, at::Tensor& p) {
    auto expected = goldens.at("pg.grad." + name);
    ASSERT_TRUE(p.grad().defined()) << name;
    EXPECT_LE(test::relative_error(p.grad(), expected), 1e-4) << name;
    ++checked;
  });
  int golden_gradients = 0;
  for (const auto& [key, tensor] : goldens) golden_gradients += key.rfind("pg.grad.", 0) == 0;
  EXPECT_EQ(checked, golden_gradients);
}

TEST(TokenLogprobs, MatchesDenseLogSoftmaxAtTemperature) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(3);
  auto hidden = at::randn({9, 8}, generator).requires_grad_(true);
  auto head = at::randn({13, 8}, generator).requires_grad_(true);
  auto targets = at::randint(0, 13, {9}, generator);
  auto chunked = token_logprobs(hidden, head, targets, 0.7, 4);
  auto dense = at::log_softmax(at::matmul(hidden, head.t()) / 0.7, 1)
                   .gather(1, targets.unsqueeze(1))
                   .squeeze(1);
  EXPECT_TRUE(at::allclose(chunked, dense, 1e-5, 1e-6));
  auto weights = at::randn({9}, generator);
  auto grads_chunked = torch::autograd::grad({(chunked * weights).sum()}, {hidden, head});
  auto grads_dense = torch::autograd::grad({(dense * weights).sum()}, {hidden, head});
  EXPECT_TRUE(at::allclose(grads_chunked[0], grads_dense[0], 1e-4, 1e-5));
  EXPECT_TRUE(at::allclose(grads_chunked[1], grads_dense[1], 1e-4, 1e-5));
  auto with_entropy = token_logprobs_and_entropy(hidden, head, targets, 0.7, 4);
  EXPECT_TRUE(with_entropy.logprobs.equal(chunked));
  EXPECT_FALSE(with_entropy.entropy.requires_grad());
  auto statistics = token_statistics(hidden.detach(), head.detach(), targets, 0.7, 4);
  EXPECT_TRUE(at::allclose(with_entropy.entropy, statistics.entropy, 1e-5, 1e-6));
  EXPECT_TRUE(at::allclose(statistics.logprobs, dense.detach(), 1e-5, 1e-6));
  auto log_p = at::log_softmax(at::matmul(hidden, head.t()).detach() / 0.7, 1);
  EXPECT_TRUE(at::allclose(statistics.entropy, -(log_p.exp() * log_p).sum(1), 1e-5, 1e-6));
}

// A frozen head (LoRA trains adapters only) gets no gradient, and the hidden states' gradient
// is the one the trained head gives.
TEST(TokenLogprobs, FrozenHeadGetsNoGradientAndTheSameHiddenGradient) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(5);
  auto hidden = at::randn({9, 8}, generator).requires_grad_(true);
  auto head = at::randn({13, 8}, generator);
  auto targets = at::randint(0, 13, {9}, generator);
  auto weights = at::randn({9}, generator);
  auto frozen = token_logprobs(hidden, head, targets, 1.0, 4);
  auto grad_frozen = torch::autograd::grad({(frozen * weights).sum()}, {hidden})[0];
  auto trained_head = head.clone().requires_grad_(true);
  auto trained = token_logprobs(hidden, trained_head, targets, 1.0, 4);
  (trained * weights).sum().backward();
  EXPECT_FALSE(head.grad().defined());
  EXPECT_TRUE(trained_head.grad().defined());
  EXPECT_TRUE(at::allclose(grad_frozen, hidden.grad(), 1e-6, 1e-7));
}

// bf16: the head's gradient is summed in bf16 by float32-accumulating GEMMs, one rounding per
// chunk, and stays within bf16 precision of the float32 gradient.
TEST(TokenLogprobs, Bfloat16HeadGradientWithinBfloat16PrecisionOfFloat32) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(7);
  auto hidden32 = at::randn({40, 16}, generator);
  auto head32 = at::randn({50, 16}, generator);
  auto targets = at::randint(0, 50, {40}, generator);
  auto weights = at::randn({40}, generator);
  auto gradient = [&](at::ScalarType dtype) {
    auto hidden = hidden32.to(dtype, false, /*copy=*/true).requires_grad_(true);
    auto head = head32.to(dtype, false, /*copy=*/true).requires_grad_(true);
    (token_logprobs(hidden, head, targets, 1.0, 8) * weights).sum().backward();
    EXPECT_EQ(head.grad().scalar_type(), dtype);
    return head.grad().to(at::kFloat);
  };
  auto reference = gradient(at::kFloat);
  auto bf16 = gradient(at::kBFloat16);
  const double scale = reference.abs().max().item<double>();
  EXPECT_LE((bf16 - reference).abs().max().item<double>(), 0.05 * scale);
}

INSTANTIATE_TEST_SUITE_P(Families, PolicyGradientGolden, ::testing::ValuesIn(test::golden_cases()),
                         test::golden_case_name<::testing::TestParamInfo<test::GoldenCase>>);

}  // namespace empo::model
