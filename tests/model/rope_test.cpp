#include "empo/model/rope.h"

#include <gtest/gtest.h>

#include <cmath>

#include "empo/io/error.h"
#include "empo/model/transformer.h"
#include "empo/model/weights.h"
#include "test_support.h"

namespace empo::model {
namespace {

using Json = nlohmann::json;

TEST(Rope, DefaultAndLinearFrequencies) {
  RopeScaling none;
  auto base = rope_inverse_frequencies(none, 10000.0, 8);
  ASSERT_EQ(base.size(), 4u);
  EXPECT_NEAR(base[0], 1.0, 1e-7);
  EXPECT_NEAR(base[1], std::pow(10000.0, -0.25), 1e-7);
  auto linear = parse_rope_scaling(Json{{"rope_type", "linear"}, {"factor", 4.0}}, 4096, "c");
  auto scaled = rope_inverse_frequencies(linear, 10000.0, 8);
  for (size_t i = 0; i < base.size(); ++i) EXPECT_NEAR(scaled[i], base[i] / 4.0, 1e-9);
}

TEST(Rope, Llama3KeepsHighFrequenciesAndScalesLowOnes) {
  // Llama-3.1-8B's parameters.
  auto llama3 = parse_rope_scaling(Json{{"rope_type", "llama3"},
                                        {"factor", 8.0},
                                        {"low_freq_factor", 1.0},
                                        {"high_freq_factor", 4.0},
                                        {"original_max_position_embeddings", 8192}},
                                   131072, "config.json");
  auto base = rope_inverse_frequencies(RopeScaling{}, 500000.0, 128);
  auto scaled = rope_inverse_frequencies(llama3, 500000.0, 128);
  EXPECT_EQ(scaled.front(), base.front());               // wavelength 2 pi: untouched
  EXPECT_NEAR(scaled.back(), base.back() / 8.0, 1e-15);  // longest wavelengths: / factor
  for (size_t i = 0; i < base.size(); ++i) {
    EXPECT_LE(scaled[i], base[i]);
    EXPECT_GE(scaled[i], base[i] / 8.0 * (1 - 1e-12));
  }
}

TEST(Rope, YarnDefaultsAsTransformers) {
  // Qwen2.5's long-context recipe: factor 4 over 32768 original positions.
  auto yarn = parse_rope_scaling(
      Json{{"type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 32768}}, 131072,
      "config.json");
  EXPECT_EQ(yarn.type, RopeScaling::Type::yarn);
  EXPECT_NEAR(yarn.attention_factor, 0.1 * std::log(4.0) + 1.0, 1e-12);
  EXPECT_EQ(yarn.beta_fast, 32.0);
  // Without a factor it is max_position_embeddings / original.
  auto derived = parse_rope_scaling(
      Json{{"rope_type", "yarn"}, {"original_max_position_embeddings", 1024}}, 4096, "config.json");
  EXPECT_EQ(derived.factor, 4.0);
  EXPECT_THROW(parse_rope_scaling(Json{{"rope_type", "yarn"}, {"factor", -1}}, 4096, "c"),
               InputError);
  EXPECT_THROW(parse_rope_scaling(Json{{"rope_type", "longrope"}}, 4096, "c"), InputError);
}

// transformers' LlamaForCausalLM with each rope type, built at test time: empo's logits match.
class RopeAgainstTransformers : public ::testing::TestWithParam<const char*> {};

TEST_P(RopeAgainstTransformers, LogitsMatch) {
  const std::string rope = GetParam();
  const std::string dir = test::temp_dir("rope_reference");
  const auto run =
      test::run_shell("python3 " + test::source_path("tests/model/rope_reference.py") + " '" +
                      rope + "' " + dir + "/model " + dir + "/reference.safetensors 2>&1");
  if (run.exit_code == 77 || run.exit_code == 127)
    GTEST_SKIP() << "torch/transformers not importable: " << run.output;
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto reference = load_tensor_file(dir + "/reference.safetensors");
  for (auto attn : {AttnImplementation::eager, AttnImplementation::sdpa}) {
    LoadOptions options;
    options.attn_implementation = attn;
    auto model = load_model(dir + "/model", options);
    EXPECT_NE(model.config.rope_scaling.type, RopeScaling::Type::none);
    at::NoGradGuard no_grad;
    const auto& ids = reference["input_ids"];
    auto logits = forward_logits(model, make_batch(ids, at::ones_like(ids)));
    EXPECT_LE((logits - reference["logits"]).abs().max().item<double>(), 1e-4)
        << rope << " with " << to_string(attn);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Types, RopeAgainstTransformers,
    ::testing::Values(
        R"({"rope_type": "linear", "factor": 4.0})",
        R"({"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 16})",
        R"({"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64})"));

}  // namespace
}  // namespace empo::model
