#include "empo/model/config.h"

#include <gtest/gtest.h>

#include "empo/io/error.h"
#include "test_support.h"

namespace empo::model {

namespace {
nlohmann::json base(const std::string& type) {
  return {{"model_type", type},       {"vocab_size", 100},      {"hidden_size", 32},
          {"intermediate_size", 64},  {"num_hidden_layers", 2}, {"num_attention_heads", 4},
          {"num_key_value_heads", 2}, {"rms_norm_eps", 1e-5},   {"torch_dtype", "bfloat16"}};
}
std::string error_of(const nlohmann::json& json) {
  try {
    parse_model_config(json, "config.json");
  } catch (const InputError& error) {
    return error.what();
  }
  return "";
}
}  // namespace

TEST(ModelConfig, ReadsTheFixtures) {
  auto qwen2 = load_model_config(test::fixture("qwen2-tiny"));
  EXPECT_EQ(qwen2.model_type, "qwen2");
  EXPECT_TRUE(qwen2.attention_bias);
  EXPECT_FALSE(qwen2.qk_norm);
  EXPECT_TRUE(qwen2.tie_word_embeddings);
  EXPECT_EQ(qwen2.rope_theta, 10000.0);  // from rope_parameters
  EXPECT_EQ(qwen2.head_dim, 16);
  auto qwen3 = load_model_config(test::fixture("qwen3-tiny"));
  EXPECT_TRUE(qwen3.qk_norm);
  EXPECT_FALSE(qwen3.attention_bias);
  EXPECT_EQ(qwen3.head_dim, 32);  // explicit, != hidden / heads
  EXPECT_EQ(qwen3.rope_theta, 1e6);
}

TEST(ModelConfig, TopLevelRopeThetaAndDtype) {
  auto json = base("qwen2");
  json["rope_theta"] = 1e6;  // Qwen2.5 style
  json["eos_token_id"] = 151643;
  auto config = parse_model_config(json, "config.json");
  EXPECT_EQ(config.rope_theta, 1e6);
  EXPECT_EQ(config.dtype, "bfloat16");
  EXPECT_EQ(config.head_dim, 8);
  EXPECT_EQ(config.eos_token_ids, std::vector<int64_t>{151643});
  EXPECT_FALSE(config.tie_word_embeddings);
}

TEST(ModelConfig, LlamaAttentionBias) {
  auto json = base("llama");
  EXPECT_FALSE(parse_model_config(json, "c").attention_bias);
  json["attention_bias"] = true;
  auto config = parse_model_config(json, "c");
  EXPECT_TRUE(config.attention_bias);
  EXPECT_TRUE(config.o_proj_bias);
}

TEST(ModelConfig, ClearErrors) {
  EXPECT_NE(error_of(base("gpt2")).find("model_type \"gpt2\" is not supported"), std::string::npos);
  auto json = base("qwen2");
  json.erase("hidden_size");
  EXPECT_NE(error_of(json).find("config.json: missing \"hidden_size\""), std::string::npos);
  json = base("qwen2");
  json["num_key_value_heads"] = 3;
  EXPECT_NE(error_of(json).find("multiple of num_key_value_heads"), std::string::npos);
  json = base("llama");
  json["rope_scaling"] = {{"rope_type", "dynamic"}, {"factor", 4.0}};
  EXPECT_NE(error_of(json).find("rope_type \"dynamic\" is not supported"), std::string::npos);
  json["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}};
  EXPECT_NE(error_of(json).find("needs \"low_freq_factor\""), std::string::npos);
  json = base("qwen2");
  json["vocab_size"] = "many";
  EXPECT_NE(error_of(json).find("vocab_size"), std::string::npos);
}

// Found by fuzz/model_config_fuzz: these escaped as nlohmann exceptions (an internal error,
// exit 1) instead of InputError naming the file.
TEST(ModelConfig, MistypedStringsAndHugeNumbersAreInputErrors) {
  auto json = base("qwen2");
  json["hidden_act"] = 5;
  EXPECT_NE(error_of(json).find("config.json: \"hidden_act\" must be a string"), std::string::npos);
  json = base("qwen2");
  json["rms_norm_eps"] = -1e-6;
  EXPECT_NE(error_of(json).find("\"rms_norm_eps\" must be positive"), std::string::npos);
  json = base("qwen2");
  json["rope_theta"] = 0;
  EXPECT_NE(error_of(json).find("\"rope_theta\" must be positive"), std::string::npos);
  json = base("qwen2");
  json["rope_parameters"] = {{"rope_type", nullptr}, {"type", true}};
  EXPECT_NE(error_of(json).find("\"type\" must be a string"), std::string::npos);

  std::string folder = test::temp_dir("config_huge_number");
  test::write_text(folder + "/config.json", R"({"model_type": "qwen2", "rms_norm_eps": 1e400})");
  try {
    load_model_config(folder);
    ADD_FAILURE() << "1e400 accepted";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find(folder + "/config.json: invalid JSON"),
              std::string::npos)
        << error.what();
  }
}

}  // namespace empo::model
