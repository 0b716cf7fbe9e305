#include "empo/model/transformer.h"

#include <gtest/gtest.h>

#include <set>

#include "empo/model/paged_attention.h"
#include "golden.h"

namespace empo::model {

class TransformerGolden : public ::testing::TestWithParam<test::GoldenCase> {
 protected:
  void SetUp() override {
    model = test::load_golden_model(GetParam());
    goldens = test::load_goldens(GetParam().family);
  }
  Model model;
  std::map<std::string, at::Tensor> goldens;
};

TEST_P(TransformerGolden, RightPaddedLogitsAndHiddenStates) {
  auto mask = goldens["right_pad.attention_mask"];
  auto batch = make_batch(goldens["right_pad.input_ids"], mask);
  std::vector<at::Tensor> hidden_states;
  at::NoGradGuard no_grad;
  auto hidden = forward_hidden(model, batch, nullptr, &hidden_states);
  auto logits = at::linear(hidden, model.weights.lm_head);
  EXPECT_LE(test::max_abs_error_where(logits, goldens["right_pad.logits"], mask), 1e-4);
  ASSERT_EQ(hidden_states.size(), model.config.num_hidden_layers + 1u);
  for (size_t i = 0; i < hidden_states.size(); ++i) {
    auto expected = goldens["right_pad.hidden_states." + std::to_string(i)];
    EXPECT_LE(test::max_abs_error_where(hidden_states[i], expected, mask), 1e-4) << "layer " << i;
  }
}

// Right-padded rows attend causally without a mask tensor (sdpa: is_causal with grouped
// heads; eager: one (1, 1, T, T) mask): the same logits as the masked path, and transformers'.
TEST_P(TransformerGolden, RightPaddedCausalPathMatchesMaskedPathAndTransformers) {
  auto mask = goldens["right_pad.attention_mask"];
  auto ids = goldens["right_pad.input_ids"];
  at::NoGradGuard no_grad;
  for (auto implementation : {AttnImplementation::eager, AttnImplementation::sdpa}) {
    model.attn_implementation = implementation;
    auto masked = forward_logits(model, make_batch(ids, mask));
    auto causal = forward_logits(model, make_batch(ids, mask, Padding::right));
    EXPECT_LE(test::max_abs_error_where(causal, masked, mask), 1e-5);
    EXPECT_LE(test::max_abs_error_where(causal, goldens["right_pad.logits"], mask), 1e-4);
  }
}

TEST_P(TransformerGolden, LeftPaddedLogitsWithExplicitPositions) {
  auto mask = goldens["left_pad.attention_mask"];
  ForwardBatch batch{goldens["left_pad.input_ids"], goldens["left_pad.position_ids"],
                     mask.to(at::kBool)};
  at::NoGradGuard no_grad;
  auto logits = forward_logits(model, batch);
  EXPECT_LE(test::max_abs_error_where(logits, goldens["left_pad.logits"], mask), 1e-4);
  // positions_from_mask reproduces HF's cumsum(mask) - 1 at every real token.
  auto derived = positions_from_mask(mask);
  EXPECT_TRUE(derived.index({mask.to(at::kBool)})
                  .equal(goldens["left_pad.position_ids"].index({mask.to(at::kBool)})));
}

TEST_P(TransformerGolden, CachedDecodingMatchesFullRecompute) {
  auto mask = goldens["left_pad.attention_mask"];
  auto ids = goldens["left_pad.input_ids"];
  const int64_t B = ids.size(0), T = ids.size(1), split = T - 5;
  at::NoGradGuard no_grad;
  auto full = forward_logits(model, make_batch(ids, mask));
  auto kv = allocate_kv(model, B, T);
  auto positions = positions_from_mask(mask);
  auto key_mask = mask.to(at::kBool);
  forward_hidden(
      model, {ids.narrow(1, 0, split), positions.narrow(1, 0, split), key_mask.narrow(1, 0, split)},
      &kv);
  for (int64_t t = split; t < T; ++t) {
    auto step = forward_logits(
        model, {ids.narrow(1, t, 1), positions.narrow(1, t, 1), key_mask.narrow(1, 0, t + 1)}, &kv);
    EXPECT_LE((step.squeeze(1) - full.select(1, t)).abs().max().item<double>(), 1e-4) << t;
  }
  EXPECT_EQ(kv.length, T);
}

// A paged cache with each row's blocks scattered over the pool (rows interleaved, in reverse):
// a prefill of the first tokens then one token at a time reproduces transformers' logits.
// `tolerance` bounds the error against transformers' logits; the same prefill causal without a
// mask stays within a tenth of it of the masked one.
void expect_paged_decoding_matches(const Model& model, std::map<std::string, at::Tensor>& goldens,
                                   double tolerance) {
  auto mask = goldens["right_pad.attention_mask"];
  auto ids = goldens["right_pad.input_ids"];
  auto expected = goldens["right_pad.logits"];
  const int64_t B = ids.size(0), T = ids.size(1), split = 3, block = 2;
  const int64_t row_blocks = (T + block - 1) / block;
  at::NoGradGuard no_grad;
  auto pool = allocate_slot_pool(model, 1 + B * row_blocks, block);
  EXPECT_EQ(pool.keys[0].numel() * pool.keys[0].element_size() * 2 * model.config.num_hidden_layers,
            (1 + B * row_blocks) * block * slot_bytes(model));
  // Row b's block i is pool block 1 + (row_blocks - 1 - i) * B + b.
  auto block_index = at::arange(row_blocks, at::kLong).unsqueeze(0);  // (1, nb)
  auto blocks = 1 + (row_blocks - 1 - block_index) * B + at::arange(B, at::kLong).unsqueeze(1);
  auto positions = at::arange(T, at::kLong).unsqueeze(0).expand({B, T}).contiguous();  // (B, T)
  auto slots =
      blocks.gather(1, positions.div(block, "floor")) * block + positions % block;  // (B, T)
  auto slot_positions =
      at::arange(row_blocks * block, at::kLong).unsqueeze(0).expand({B, row_blocks * block});
  slot_positions = at::where(slot_positions < T, slot_positions, at::full_like(slot_positions, -1));
  PagedBatch prefill;
  prefill.input_ids = ids.narrow(1, 0, split);
  prefill.position_ids = positions.narrow(1, 0, split);
  prefill.write_slots = slots.narrow(1, 0, split);
  prefill.key_mask = mask.narrow(1, 0, split).to(at::kBool);
  auto masked_logits = at::linear(forward_hidden(model, prefill, pool), model.weights.lm_head);
  prefill.padding = Padding::right;  // the same prefill, causal without a mask
  auto logits = at::linear(forward_hidden(model, prefill, pool), model.weights.lm_head);
  EXPECT_LE(test::max_abs_error_where(logits, masked_logits, mask.narrow(1, 0, split)),
            tolerance / 10);
  EXPECT_LE(
      test::max_abs_error_where(logits, expected.narrow(1, 0, split), mask.narrow(1, 0, split)),
      tolerance);
  for (int64_t t = split; t < T; ++t) {
    PagedBatch step;
    step.input_ids = ids.narrow(1, t, 1);
    step.position_ids = positions.narrow(1, t, 1);
    step.write_slots = slots.narrow(1, t, 1);
    step.read_blocks = blocks;
    step.key_positions = slot_positions;
    auto step_logits = at::linear(forward_hidden(model, step, pool), model.weights.lm_head);
    EXPECT_LE(
        test::max_abs_error_where(step_logits, expected.narrow(1, t, 1), mask.narrow(1, t, 1)),
        tolerance)
        << t;
  }
}

TEST_P(TransformerGolden, PagedDecodingOverScatteredBlocksMatchesTransformers) {
  expect_paged_decoding_matches(model, goldens, 1e-4);
}

// A bf16 pool is read by the gathered decode path (grouped queries against the gathered
// blocks, float32 scores and softmax) instead of the float32 CPU kernel.
TEST_P(TransformerGolden, Bfloat16PagedDecodingMatchesTransformers) {
  LoadOptions options;
  options.dtype = at::kBFloat16;
  options.attn_implementation = GetParam().attn_implementation;
  auto bf16 = load_model(test::fixture(GetParam().family + "-tiny"), options);
  ASSERT_FALSE(paged_attention_reads_in_place(allocate_slot_pool(bf16, 2, 2).keys[0]));
  expect_paged_decoding_matches(bf16, goldens,
                                0.05 * goldens["right_pad.logits"].abs().max().item<double>());
}

TEST_P(TransformerGolden, Bfloat16CheckpointLoadsIntoFloat32) {
  auto bf16 = test::load_golden_model(GetParam(), "/bf16");
  EXPECT_EQ(bf16.weights.embed_tokens.scalar_type(), at::kFloat);
  // Same weights up to bf16 rounding: the f32 weights rounded to bf16 equal the loaded ones.
  auto rounded = model.weights.layers[0].q_proj.to(at::kBFloat16).to(at::kFloat);
  EXPECT_TRUE(rounded.equal(bf16.weights.layers[0].q_proj));
  auto mask = goldens["right_pad.attention_mask"];
  at::NoGradGuard no_grad;
  auto logits = forward_logits(bf16, make_batch(goldens["right_pad.input_ids"], mask));
  auto reference = goldens["right_pad.logits"];
  double error = test::max_abs_error_where(logits, reference, mask);
  EXPECT_LE(error, 0.05 * reference.abs().max().item<double>());
}

namespace {

// Nodes of the autograd graph that produced `root`.
size_t graph_nodes(const at::Tensor& root) {
  std::vector<torch::autograd::Node*> stack{root.grad_fn().get()};
  std::set<torch::autograd::Node*> seen;
  while (!stack.empty()) {
    auto* node = stack.back();
    stack.pop_back();
    if (!node || !seen.insert(node).second) continue;
    for (const auto& edge : node->next_edges()) stack.push_back(edge.function.get());
  }
  return seen.size();
}

}  // namespace

TEST_P(TransformerGolden, GradientCheckpointingKeepsLossAndGradients) {
  auto mask = goldens["right_pad.attention_mask"];
  auto ids = goldens["right_pad.input_ids"];
  auto batch = make_batch(ids, mask);
  const int64_t T = ids.size(1);
  struct Run {
    double loss = 0;
    size_t nodes = 0;
    std::vector<at::Tensor> grads;
  };
  auto run = [&](bool checkpointing) {
    auto trained = clone_model(model);
    trained.gradient_checkpointing = checkpointing;
    for (auto& parameter : parameters(trained)) parameter.requires_grad_(true);
    auto logits = at::linear(forward_hidden(trained, batch), trained.weights.lm_head);  // (B,T,V)
    auto next = ids.narrow(1, 1, T - 1).unsqueeze(-1);                                  // (B,T-1,1)
    auto logprobs = at::log_softmax(logits.narrow(1, 0, T - 1), -1).gather(-1, next).squeeze(-1);
    auto weight = mask.narrow(1, 1, T - 1).to(at::kFloat);  // (B, T-1): real targets only
    auto loss = -(logprobs * weight).sum() / weight.sum();
    Run result{loss.item<double>(), graph_nodes(loss), {}};
    loss.backward();
    for_each_parameter(trained.weights, trained.config, [&](const std::string&, at::Tensor& p) {
      result.grads.push_back(p.grad());
    });
    return result;
  };
  auto plain = run(false);
  auto checkpointed = run(true);
  EXPECT_NEAR(checkpointed.loss, plain.loss, 1e-5);
  ASSERT_EQ(checkpointed.grads.size(), plain.grads.size());
  for (size_t i = 0; i < plain.grads.size(); ++i) {
    ASSERT_TRUE(checkpointed.grads[i].defined()) << i;
    EXPECT_LE((checkpointed.grads[i] - plain.grads[i]).abs().max().item<double>(), 1e-5) << i;
  }
  // Each decoder layer is one node of the graph, its inside recomputed in backward.
  EXPECT_LT(checkpointed.nodes * 2, plain.nodes);
}

INSTANTIATE_TEST_SUITE_P(Families, TransformerGolden, ::testing::ValuesIn(test::golden_cases()),
                         test::golden_case_name<::testing::TestParamInfo<test::GoldenCase>>);

}  // namespace empo::model

namespace empo::model {

TEST(Rotary, ThetaComesFromTheConfig) {
  // qwen2-tiny's goldens use the default theta 10000, which a hard-coded theta would also
  // pass: the config's value must change every position but the first (where the rotation is
  // the identity and a token attends only to itself).
  auto model = load_model(test::fixture("qwen2-tiny"));
  auto ids = at::tensor({3, 17, 42, 5, 99, 7}, at::kLong).view({1, 6});
  auto batch = make_batch(ids, at::ones({1, 6}, at::kLong));
  at::NoGradGuard no_grad;
  auto base = forward_logits(model, batch);  // (1, 6, V)
  model.config.rope_theta = 1e6;
  auto wide = forward_logits(model, batch);
  EXPECT_LE((base[0][0] - wide[0][0]).abs().max().item<double>(), 1e-6);
  for (int t = 1; t < 6; ++t)
    EXPECT_GT((base[0][t] - wide[0][t]).abs().max().item<double>(), 1e-4) << "position " << t;
}

}  // namespace empo::model
