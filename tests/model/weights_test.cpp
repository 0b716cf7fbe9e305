#include "empo/model/weights.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "empo/io/error.h"
#include "empo/io/safetensors.h"
#include "test_support.h"

namespace empo::model {

TEST(Weights, SaveAndLoadRoundTripsExactly) {
  auto model = load_model(test::fixture("qwen3-tiny"));
  auto dir = test::temp_dir("weights");
  save_model(model, dir, at::kFloat);
  auto again = load_model(dir);
  int compared = 0;
  auto original = parameters(model);
  auto reloaded = parameters(again);
  ASSERT_EQ(original.size(), reloaded.size());
  for (size_t i = 0; i < original.size(); ++i, ++compared)
    EXPECT_TRUE(original[i].equal(reloaded[i]));
  EXPECT_GT(compared, 10);
  // The saved folder is what transformers reads: same tensor names as the HF file.
  auto ours = io::SafetensorsFile::open(dir + "/model.safetensors");
  auto theirs = io::SafetensorsFile::open(test::fixture("qwen3-tiny/model.safetensors"));
  ASSERT_EQ(ours->tensors().size(), theirs->tensors().size());
  for (size_t i = 0; i < ours->tensors().size(); ++i)
    EXPECT_EQ(ours->tensors()[i].name, theirs->tensors()[i].name);
  EXPECT_EQ(load_model_config(dir).raw["model_type"], "qwen3");
}

TEST(Weights, Bfloat16SaveIsHalfTheSize) {
  auto model = load_model(test::fixture("qwen2-tiny"));
  auto dir = test::temp_dir("weights");
  save_model(model, dir, at::kBFloat16);
  auto file = io::SafetensorsFile::open(dir + "/model.safetensors");
  EXPECT_EQ(file->find("model.norm.weight")->dtype, io::DType::BF16);
  EXPECT_EQ(load_model_config(dir).raw["torch_dtype"], "bfloat16");
}

TEST(Weights, WrongShapeNamesTheTensor) {
  auto model = load_model(test::fixture("qwen2-tiny"));
  auto dir = test::temp_dir("weights");
  model.weights.layers[1].up_proj = at::zeros({3, 3});
  save_model(model, dir, at::kFloat);
  try {
    load_model(dir);
    FAIL();
  } catch (const InputError& error) {
    std::string message = error.what();
    EXPECT_NE(message.find("model.layers.1.mlp.up_proj.weight"), std::string::npos) << message;
    EXPECT_NE(message.find("[176, 64]"), std::string::npos) << message;
  }
}

TEST(Weights, CloneIsDeepAndTied) {
  auto model = load_model(test::fixture("qwen2-tiny"));
  auto copy = clone_model(model);
  copy.weights.norm.add_(1.0);
  EXPECT_FALSE(copy.weights.norm.equal(model.weights.norm));
  EXPECT_EQ(copy.weights.lm_head.data_ptr(), copy.weights.embed_tokens.data_ptr());
}

}  // namespace empo::model
