#include "empo/generate/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace empo::generate {

namespace {

// The expected distribution computed independently in double precision: softmax(logits / T),
// keep the top_k largest, then the smallest descending prefix with mass >= top_p.
std::vector<double> expected_distribution(const std::vector<double>& logits, double temperature,
                                          int top_k, double top_p) {
  const size_t V = logits.size();
  std::vector<double> p(V);
  double max_logit = *std::max_element(logits.begin(), logits.end());
  for (size_t v = 0; v < V; ++v) p[v] = std::exp((logits[v] - max_logit) / temperature);
  std::vector<size_t> order(V);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] > p[b]; });
  for (size_t rank = top_k; rank < V; ++rank) p[order[rank]] = 0;
  double total = std::accumulate(p.begin(), p.end(), 0.0);
  double mass = 0;
  for (size_t rank = 0; rank < V; ++rank) {
    if (mass >= top_p) p[order[rank]] = 0;
    mass += p[order[rank]] / total;
  }
  total = std::accumulate(p.begin(), p.end(), 0.0);
  for (auto& value : p) value /= total;
  return p;
}

// Draw n tokens (n rows, each its own stream) and count them.
std::vector<int> draw_counts(const std::vector<double>& logits, const SamplingParams& params,
                             int n) {
  auto row = at::tensor(std::vector<float>(logits.begin(), logits.end()));
  auto batch = row.unsqueeze(0).expand({n, -1}).contiguous();
  std::vector<SequenceRng> streams;
  for (int i = 0; i < n; ++i) streams.emplace_back(42, 0, i);
  std::vector<SequenceRng*> rngs;
  for (auto& stream : streams) rngs.push_back(&stream);
  auto sampled = sample_tokens(batch, params, rngs);
  std::vector<int> counts(logits.size(), 0);
  for (auto token : sampled.tokens) counts[token]++;
  return counts;
}

// Pearson chi-square over the tokens with non-zero expected mass.
double chi_square(const std::vector<int>& counts, const std::vector<double>& expected, int n) {
  double statistic = 0;
  for (size_t v = 0; v < counts.size(); ++v)
    if (expected[v] > 0) statistic += std::pow(counts[v] - n * expected[v], 2) / (n * expected[v]);
  return statistic;
}

const std::vector<double> kLogits = {2.0, 1.5, 1.0, 0.2, -0.5, -1.0, -3.0, 0.7};

}  // namespace

// Critical values of chi-square at p = 0.001: df 7 -> 24.32, df 3 -> 16.27, df 2 -> 13.82.
TEST(Sampler, TemperatureMatchesSoftmax) {
  SamplingParams params;
  params.temperature = 0.7;
  const int n = 40000;
  auto counts = draw_counts(kLogits, params, n);
  auto expected = expected_distribution(kLogits, 0.7, 8, 1.0);
  EXPECT_LT(chi_square(counts, expected, n), 24.32);
}

TEST(Sampler, TopKTruncates) {
  SamplingParams params;
  params.temperature = 1.3;
  params.top_k = 4;
  const int n = 40000;
  auto counts = draw_counts(kLogits, params, n);
  auto expected = expected_distribution(kLogits, 1.3, 4, 1.0);
  for (size_t v = 0; v < counts.size(); ++v) {
    if (expected[v] == 0) {
      EXPECT_EQ(counts[v], 0) << v;
    }
  }
  EXPECT_LT(chi_square(counts, expected, n), 16.27);
}

TEST(Sampler, TopPTruncates) {
  SamplingParams params;
  params.top_p = 0.8;
  const int n = 40000;
  auto counts = draw_counts(kLogits, params, n);
  auto expected = expected_distribution(kLogits, 1.0, 8, 0.8);
  int kept = 0;
  for (size_t v = 0; v < counts.size(); ++v) {
    if (expected[v] == 0) {
      EXPECT_EQ(counts[v], 0) << v;
    }
    kept += expected[v] > 0;
  }
  EXPECT_EQ(kept, 4);
  EXPECT_LT(chi_square(counts, expected, n), 16.27);
}

TEST(Sampler, MinPKeepsTokensNearTheMode) {
  SamplingParams params;
  params.min_p = 0.3;  // p >= 0.3 * p_max  <=>  logit >= 2.0 + ln 0.3 = 0.796
  auto log_q = sampling_logprobs(
      at::tensor(std::vector<float>(kLogits.begin(), kLogits.end())).unsqueeze(0), params);
  for (size_t v = 0; v < kLogits.size(); ++v)
    EXPECT_EQ(std::isinf(log_q[0][v].item<float>()), kLogits[v] < 2.0 + std::log(0.3)) << v;
}

TEST(Sampler, GreedyAndReportedLogprobs) {
  SamplingParams params;
  params.greedy = true;
  SequenceRng rng(1, 2, 3);
  std::vector<SequenceRng*> rngs{&rng};
  auto logits = at::tensor(std::vector<float>(kLogits.begin(), kLogits.end())).unsqueeze(0);
  auto sampled = sample_tokens(logits, params, rngs);
  EXPECT_EQ(sampled.tokens[0], 0);
  EXPECT_NEAR(sampled.policy_logprobs[0], at::log_softmax(logits, 1)[0][0].item<float>(), 1e-6);
  EXPECT_EQ(sampled.sampling_logprobs[0], 0.0f);
  params.greedy = false;
  params.top_k = 2;
  sampled = sample_tokens(logits, params, rngs);
  auto expected = expected_distribution(kLogits, 1.0, 2, 1.0);
  EXPECT_NEAR(sampled.sampling_logprobs[0], std::log(expected[sampled.tokens[0]]), 1e-5);
}

TEST(Sampler, StreamsAreReproducible) {
  SequenceRng a(5, 6, 7), b(5, 6, 7), c(5, 6, 8);
  double x = a.uniform();
  EXPECT_EQ(x, b.uniform());
  EXPECT_NE(x, c.uniform());
}

}  // namespace empo::generate
