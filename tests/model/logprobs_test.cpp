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

INSTANTIATE_TEST_SUITE_P(Families, PolicyGradientGolden, ::testing::ValuesIn(test::golden_cases()),
                         test::golden_case_name<::testing::TestParamInfo<test::GoldenCase>>);

}  // namespace empo::model
