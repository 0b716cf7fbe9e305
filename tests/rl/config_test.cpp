#include "empo/rl/config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "empo/data/prompt_source.h"
#include "empo/io/error.h"
#include "test_support.h"

namespace empo::rl {
namespace {

const std::string kRequired = "model_name_or_path: models/m\ntrain_file: data/train.jsonl\n";

// The message of the InputError that parsing `text` (as file "cfg.yaml") throws.
std::string error_of(const std::string& text, const std::vector<std::string>& overrides = {}) {
  try {
    parse_config(text, "cfg.yaml", overrides);
  } catch (const InputError& error) {
    return error.what();
  }
  ADD_FAILURE() << "no InputError for:\n" << text;
  return "";
}

TEST(Config, DefaultsAreTheAuthorsSettings) {
  TrainConfig config;
  EXPECT_EQ(config.num_generations, 7);
  EXPECT_DOUBLE_EQ(config.temperature, 0.9);
  EXPECT_DOUBLE_EQ(config.top_p, 1.0);
  EXPECT_DOUBLE_EQ(config.learning_rate, 1e-6);
  EXPECT_EQ(config.lr_scheduler_type, LrSchedulerType::constant);
  EXPECT_DOUBLE_EQ(config.adam_beta1, 0.9);
  EXPECT_DOUBLE_EQ(config.adam_beta2, 0.999);
  EXPECT_DOUBLE_EQ(config.weight_decay, 0.0);
  EXPECT_DOUBLE_EQ(config.max_grad_norm, 1.0);
  EXPECT_DOUBLE_EQ(config.beta, 0.0);
  EXPECT_EQ(config.max_completion_length, 2048);
  EXPECT_EQ(config.reward, RewardType::empo);
  EXPECT_EQ(config.system_prompt, data::kAuthorsSystemPrompt);
  EXPECT_EQ(config.question_template, data::kAuthorsQuestionTemplate);
}

TEST(Config, MinimalFileLoadsWithDefaults) {
  std::string dir = test::temp_dir("config_minimal");
  test::write_text(dir + "/c.yaml", kRequired);
  TrainConfig config = load_config(dir + "/c.yaml");
  EXPECT_EQ(config.model_name_or_path, "models/m");
  EXPECT_EQ(config.train_file, "data/train.jsonl");
  TrainConfig expected;
  expected.model_name_or_path = "models/m";
  expected.train_file = "data/train.jsonl";
  EXPECT_EQ(config, expected);
}

TEST(Config, ReadsEveryKindOfValue) {
  TrainConfig config = parse_config(kRequired +
                                        "temperature: 1\n"
                                        "learning_rate: 2e-4\n"
                                        "num_generations: 8\n"
                                        "seed: 18446744073709551615\n"
                                        "mask_truncated_completions: true\n"
                                        "loss_type: dr_grpo\n"
                                        "lr_scheduler_type: cosine\n"
                                        "scale_rewards: none\n"
                                        "chat_format: auto\n"
                                        "dtype: bfloat16\n"
                                        "attn_implementation: eager\n"
                                        "gradient_checkpointing: true\n"
                                        "zero_stage: 2\n"
                                        "entropy_band: [0.1, 0.9]\n"
                                        "eval_files: [a.jsonl, b.jsonl]\n"
                                        "answer_extraction: boxed\n"
                                        "answer_fallbacks: [answer_is, last_number]\n"
                                        "system_prompt: \"\"\n"
                                        "judge_model:\n",
                                    "cfg.yaml");
  EXPECT_DOUBLE_EQ(config.temperature, 1.0);
  EXPECT_DOUBLE_EQ(config.learning_rate, 2e-4);
  EXPECT_EQ(config.num_generations, 8);
  EXPECT_EQ(config.seed, 18446744073709551615ull);
  EXPECT_TRUE(config.mask_truncated_completions);
  EXPECT_EQ(config.loss_type, LossType::dr_grpo);
  EXPECT_EQ(config.lr_scheduler_type, LrSchedulerType::cosine);
  EXPECT_EQ(config.scale_rewards, ScaleRewards::none);
  EXPECT_EQ(config.chat_format, ChatFormat::automatic);
  EXPECT_EQ(config.dtype, Dtype::bfloat16);
  EXPECT_EQ(config.attn_implementation, model::AttnImplementation::eager);
  EXPECT_TRUE(config.gradient_checkpointing);
  EXPECT_EQ(config.zero_stage, 2);
  EXPECT_EQ(config.entropy_band, (EntropyBand{0.1, 0.9}));
  EXPECT_EQ(config.eval_files, (std::vector<std::string>{"a.jsonl", "b.jsonl"}));
  EXPECT_EQ(config.answer_extraction, AnswerExtraction::boxed);
  EXPECT_EQ(config.answer_fallbacks,
            (std::vector<AnswerFallback>{AnswerFallback::answer_is, AnswerFallback::last_number}));
  EXPECT_EQ(config.system_prompt, "");
  EXPECT_EQ(config.judge_model, "");
}

TEST(Config, EpsilonHighDefaultsToEpsilon) {
  EXPECT_DOUBLE_EQ(parse_config(kRequired + "epsilon: 0.3\n", "c").epsilon_high, 0.3);
  EXPECT_DOUBLE_EQ(parse_config(kRequired + "epsilon: 0.3\nepsilon_high: null\n", "c").epsilon_high,
                   0.3);
  TrainConfig both = parse_config(kRequired + "epsilon: 3e-4\nepsilon_high: 4e-4\n", "c");
  EXPECT_DOUBLE_EQ(both.epsilon, 3e-4);
  EXPECT_DOUBLE_EQ(both.epsilon_high, 4e-4);
  // An override of epsilon alone also moves the unset upper bound.
  EXPECT_DOUBLE_EQ(parse_config(kRequired, "c", {"epsilon=0.1"}).epsilon_high, 0.1);
}

TEST(Config, UnknownKeyIsNamedWithFileLineAndASuggestion) {
  std::string message = error_of(kRequired + "temprature: 0.5\n");
  EXPECT_NE(message.find("cfg.yaml:3:"), std::string::npos) << message;
  EXPECT_NE(message.find("unknown key 'temprature'"), std::string::npos) << message;
  EXPECT_NE(message.find("did you mean 'temperature'"), std::string::npos) << message;
  std::string far = error_of(kRequired + "completely_unrelated: 1\n");
  EXPECT_NE(far.find("unknown key 'completely_unrelated'"), std::string::npos) << far;
  EXPECT_EQ(far.find("did you mean"), std::string::npos) << far;
}

struct BadValue {
  std::string line;      // the offending YAML line (placed on line 3)
  std::string key;       // the key the message must name
  std::string fragment;  // a part of the reason
};

void PrintTo(const BadValue& bad, std::ostream* out) {
  *out << bad.line;
}

class BadValues : public ::testing::TestWithParam<BadValue> {};

TEST_P(BadValues, AreInputErrorsNamingKeyAndLine) {
  const BadValue& bad = GetParam();
  std::string message = error_of(kRequired + bad.line + "\n");
  EXPECT_NE(message.find("cfg.yaml:3: " + bad.key + ":"), std::string::npos) << message;
  EXPECT_NE(message.find(bad.fragment), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(
    WrongType, BadValues,
    ::testing::Values(
        BadValue{"temperature: abc", "temperature", "expected a number"},
        BadValue{"temperature: '0.9'", "temperature", "quoted string"},
        BadValue{"temperature: [1]", "temperature", "expected a number"},
        BadValue{"temperature: .inf", "temperature", "expected a number"},
        BadValue{"temperature: 0x10", "temperature", "expected a number"},
        BadValue{"num_generations: 2.5", "num_generations", "expected an integer"},
        BadValue{"max_steps: 1e3", "max_steps", "expected an integer"},
        BadValue{"seed: -1", "seed", "non-negative integer"},
        BadValue{"mask_truncated_completions: maybe", "mask_truncated_completions",
                 "expected true or false"},
        BadValue{"loss_type: ppo", "loss_type", "grpo | dapo | bnpo | dr_grpo | gspo"},
        BadValue{"reward: majority", "reward", "expected one of"},
        BadValue{"judge_model: [a, b]", "judge_model", "expected a string"},
        BadValue{"entropy_band: 0.5", "entropy_band", "expected [low, high]"},
        BadValue{"entropy_band: [0.1, 0.5, 0.9]", "entropy_band", "expected [low"},
        BadValue{"eval_files: {a: 1}", "eval_files", "expected a list"},
        BadValue{"answer_fallbacks: [regex]", "answer_fallbacks",
                 "answer_is | answer_colon | last_number"},
        BadValue{"answer_extraction: the_answer_is", "answer_extraction", "boxed | hash_dollar"},
        BadValue{"attn_implementation: flash", "attn_implementation", "auto | sdpa | eager"},
        BadValue{"gradient_checkpointing: sometimes", "gradient_checkpointing",
                 "expected true or false"}));

INSTANTIATE_TEST_SUITE_P(
    OutOfRange, BadValues,
    ::testing::Values(
        BadValue{"temperature: -1", "temperature", "must be >= 0, got -1"},
        BadValue{"epsilon: -0.1", "epsilon", "must be >= 0"},
        BadValue{"epsilon_high: -0.1", "epsilon_high", "must be >= 0"},
        BadValue{"beta: -0.01", "beta", "must be >= 0"},
        BadValue{"num_generations: 1", "num_generations", "must be >= 2, got 1"},
        BadValue{"top_p: 0", "top_p", "must be in (0, 1]"},
        BadValue{"top_p: 1.5", "top_p", "must be in (0, 1]"},
        BadValue{"min_p: 1", "min_p", "must be in [0, 1)"},
        BadValue{"adam_beta2: 1", "adam_beta2", "must be in [0, 1)"},
        BadValue{"adam_epsilon: 0", "adam_epsilon", "must be > 0"},
        BadValue{"warmup_ratio: 1.5", "warmup_ratio", "must be in [0, 1]"},
        BadValue{"max_steps: 0", "max_steps", "-1 (use num_train_epochs) or >= 1"},
        BadValue{"max_steps: -2", "max_steps", "must be >= -1"},
        BadValue{"num_train_epochs: 0", "num_train_epochs", "must be > 0"},
        BadValue{"per_device_train_batch_size: 0", "per_device_train_batch_size", "must be >= 1"},
        BadValue{"num_iterations: 0", "num_iterations", "must be >= 1"},
        BadValue{"zero_stage: 3", "zero_stage", "must be in [0, 2], got 3"},
        BadValue{"max_completion_length: 0", "max_completion_length", "must be >= 1"},
        BadValue{"entropy_band: [0.8, 0.2]", "entropy_band", "0 <= low <= high <= 1"},
        BadValue{"entropy_band: [0, 1.5]", "entropy_band", "0 <= low <= high <= 1"},
        BadValue{"entropy_band: [-0.1, 0.5]", "entropy_band", "0 <= low"},
        BadValue{"guard_entropy_floor: 2", "guard_entropy_floor", "must be in [0, 1]"},
        BadValue{"guard_patience: 0", "guard_patience", "must be >= 1"},
        BadValue{"num_generations: 99999999999999999999", "num_generations", "out of range"},
        BadValue{"question_template: 'no placeholder'", "question_template", "{question}"}));

TEST(Config, CrossKeyChecksNameTheKey) {
  EXPECT_NE(error_of("train_file: t.jsonl\n").find("model_name_or_path: required"),
            std::string::npos);
  EXPECT_NE(error_of("model_name_or_path: m\n").find("train_file: required"), std::string::npos);
  std::string judge = error_of(kRequired + "equivalence: judge\n");
  EXPECT_NE(judge.find("cfg.yaml:3: judge_model: required when equivalence is judge"),
            std::string::npos)
      << judge;
  EXPECT_NO_THROW(parse_config(kRequired + "equivalence: judge\njudge_model: models/j\n", "c"));
  std::string fallbacks =
      error_of(kRequired + "answer_extraction: hash_dollar\nanswer_fallbacks: [last_number]\n");
  EXPECT_NE(fallbacks.find("cfg.yaml:4: answer_fallbacks: only apply to answer_extraction boxed"),
            std::string::npos)
      << fallbacks;
  std::string warmup = error_of(kRequired + "warmup_ratio: 0.1\n");
  EXPECT_NE(warmup.find("cfg.yaml:3: warmup_ratio: has no effect"), std::string::npos) << warmup;
  EXPECT_NE(error_of(kRequired + "warmup_steps: 10\n").find("warmup_steps"), std::string::npos);
  EXPECT_NO_THROW(parse_config(
      kRequired + "lr_scheduler_type: constant_with_warmup\nwarmup_ratio: 0.1\n", "c"));
}

TEST(Config, StructuralErrors) {
  std::string duplicate = error_of(kRequired + "beta: 0\nbeta: 0.1\n");
  EXPECT_NE(duplicate.find("cfg.yaml:4: beta: duplicate key"), std::string::npos) << duplicate;
  std::string invalid = error_of(kRequired + "entropy_band: [0.1, 0.9\n");
  EXPECT_NE(invalid.find("cfg.yaml:"), std::string::npos) << invalid;
  EXPECT_NE(invalid.find("invalid YAML"), std::string::npos) << invalid;
  EXPECT_NE(error_of("- a\n- b\n").find("expected a mapping"), std::string::npos);
  EXPECT_THROW(load_config("/nonexistent/empo/config.yaml"), InputError);
}

TEST(Config, OverridesParseYamlValuesAndWinInOrder) {
  TrainConfig config =
      parse_config(kRequired + "temperature: 0.7\n", "cfg.yaml",
                   {"temperature=0.5", "entropy_band=[0.1,0.9]", "eval_files=one.jsonl",
                    "mask_truncated_completions=true", "loss_type=gspo", "max_steps=4",
                    "max_steps=6", "answer_fallbacks=[last_number]", " top_k = 20"});
  EXPECT_DOUBLE_EQ(config.temperature, 0.5);
  EXPECT_EQ(config.entropy_band, (EntropyBand{0.1, 0.9}));
  EXPECT_EQ(config.eval_files, std::vector<std::string>{"one.jsonl"});
  EXPECT_TRUE(config.mask_truncated_completions);
  EXPECT_EQ(config.loss_type, LossType::gspo);
  EXPECT_EQ(config.max_steps, 6);
  EXPECT_EQ(config.answer_fallbacks, std::vector<AnswerFallback>{AnswerFallback::last_number});
  EXPECT_EQ(config.top_k, 20);
}

TEST(Config, StringOverridesAreVerbatim) {
  TrainConfig config =
      parse_config(kRequired, "cfg.yaml",
                   {"system_prompt=Reason: step by step, {carefully} # not a comment",
                    "question_template=Q: {question} A=", "output_dir=", "judge_model='quoted'"});
  EXPECT_EQ(config.system_prompt, "Reason: step by step, {carefully} # not a comment");
  EXPECT_EQ(config.question_template, "Q: {question} A=");
  EXPECT_EQ(config.output_dir, "");
  EXPECT_EQ(config.judge_model, "'quoted'");
}

TEST(Config, BadOverridesNameTheKey) {
  EXPECT_NE(error_of(kRequired, {"temperature=-1"})
                .find("override 'temperature=-1': temperature: must be >= 0, got -1"),
            std::string::npos);
  EXPECT_NE(error_of(kRequired, {"temprature=1"}).find("unknown key 'temprature'"),
            std::string::npos);
  EXPECT_NE(error_of(kRequired, {"temperature"}).find("expected key=value"), std::string::npos);
  EXPECT_NE(error_of(kRequired, {"=1"}).find("expected key=value"), std::string::npos);
  EXPECT_NE(error_of(kRequired, {"entropy_band=[0.1,"}).find("entropy_band: cannot parse"),
            std::string::npos);
  EXPECT_NE(
      error_of(kRequired, {"num_generations=abc"}).find("num_generations: expected an integer"),
      std::string::npos);
  EXPECT_NE(error_of(kRequired, {"question_template=plain"}).find("question_template"),
            std::string::npos);
  // A required key emptied by an override is blamed on the override.
  EXPECT_NE(
      error_of(kRequired, {"train_file="}).find("override 'train_file=': train_file: required"),
      std::string::npos);
}

// A config where every key differs from its default, with strings that need quoting.
TrainConfig unusual_config() {
  TrainConfig config;
  config.model_name_or_path = "models/with space/ünïcode";
  config.train_file = "data/\"quoted\".jsonl";
  config.eval_files = {"a.jsonl", "b: c.jsonl", "[d].jsonl"};
  config.output_dir = "true";
  config.dtype = Dtype::float32;
  config.attn_implementation = model::AttnImplementation::sdpa;
  config.gradient_checkpointing = true;
  config.system_prompt = "Line one\nLine two with \\boxed{} and 'quotes' and \"double\"\t#";
  config.question_template = "- {question}: {question}";
  config.chat_format = ChatFormat::raw;
  config.chat_template_kwargs = {
      {"enable_thinking", false}, {"depth", 3},         {"ratio", 0.5},
      {"name", "x: \"y\""},       {"nothing", nullptr}, {"flag", "true"}};
  config.truthfulqa_split = data::TruthfulQaSplit::held_out;
  config.max_prompt_length = 300;
  config.max_steps = 123;
  config.num_train_epochs = 2.5;
  config.per_device_train_batch_size = 3;
  config.gradient_accumulation_steps = 4;
  config.micro_batch_size = 5;
  config.steps_per_generation = 2;
  config.num_iterations = 3;
  config.seed = 18446744073709551615ull;
  config.num_generations = 16;
  config.temperature = 0.1 + 0.2;  // not exactly 0.3: the shortest form must keep every bit
  config.top_p = 0.95;
  config.top_k = 20;
  config.min_p = 0.05;
  config.max_completion_length = 3072;
  config.learning_rate = 5e-7;
  config.lr_scheduler_type = LrSchedulerType::linear;
  config.warmup_ratio = 0.03;
  config.warmup_steps = 7;
  config.weight_decay = 0.01;
  config.adam_beta1 = 0.8;
  config.adam_beta2 = 0.95;
  config.adam_epsilon = 1e-6;
  config.max_grad_norm = 0.0;
  config.loss_type = LossType::bnpo;
  config.beta = 0.04;
  config.epsilon = 3e-4;
  config.epsilon_high = 4e-4;
  config.scale_rewards = ScaleRewards::batch;
  config.mask_truncated_completions = true;
  config.reward = RewardType::token_entropy;
  config.entropy_band = {1.0 / 3.0, 0.75};
  config.empty_answer_reward = -1.0;
  config.equivalence = Equivalence::judge;
  config.judge_model = "models/judge";
  config.judge_prompt = "general_verifier";
  config.judge_direction = JudgeDirection::one_way;
  config.copy_question_rouge = 0.8;
  config.copy_question_reward = -0.25;
  config.min_majority_share = 0.2;
  config.answer_extraction = AnswerExtraction::boxed;
  config.answer_fallbacks = {AnswerFallback::answer_colon, AnswerFallback::last_number};
  config.dynamic_sampling = true;
  config.max_resample_rounds = 0;
  config.guard_stop_rule = true;
  config.guard_entropy_floor = 0.1;
  config.guard_reward_ceiling = 0.9;
  config.guard_patience = 9;
  config.save_steps = 0;
  config.save_total_limit = 0;
  config.logging_steps = 10;
  config.log_completions = false;
  config.num_completions_to_print = 0;
  return config;
}

TEST(Config, ResolvedConfigRoundTrips) {
  TrainConfig config = unusual_config();
  std::string text = to_yaml(config);
  TrainConfig again = parse_config(text, "resolved.yaml");
  EXPECT_EQ(again, config) << text;
  EXPECT_EQ(again.temperature, config.temperature);  // bit-exact
  EXPECT_EQ(again.system_prompt, config.system_prompt);
  EXPECT_EQ(again.seed, config.seed);
  EXPECT_EQ(to_yaml(again), text);

  std::string dir = test::temp_dir("config_roundtrip");
  test::write_text(dir + "/resolved.yaml", text);
  EXPECT_EQ(load_config(dir + "/resolved.yaml"), config);
}

TEST(Config, EqualityNoticesEveryField) {
  TrainConfig a = unusual_config(), b = unusual_config();
  EXPECT_EQ(a, b);
  b.guard_patience += 1;
  EXPECT_NE(a, b);
  b = a;
  b.answer_fallbacks.pop_back();
  EXPECT_NE(a, b);
}

TEST(Config, WrittenConfigHasEveryKeyOnce) {
  std::string text = to_yaml(unusual_config());
  for (const auto& key : config_keys()) {
    size_t at = text.find("\n" + key + ": ");
    EXPECT_NE(at, std::string::npos) << key;
    EXPECT_EQ(text.find("\n" + key + ": ", at + 1), std::string::npos) << key;
  }
  // DESIGN.md's config keys, TRL names first, then EMPO's own.
  for (const char* key : {"model_name_or_path",
                          "train_file",
                          "max_steps",
                          "num_train_epochs",
                          "num_generations",
                          "temperature",
                          "top_p",
                          "top_k",
                          "max_prompt_length",
                          "max_completion_length",
                          "learning_rate",
                          "lr_scheduler_type",
                          "warmup_ratio",
                          "weight_decay",
                          "max_grad_norm",
                          "per_device_train_batch_size",
                          "gradient_accumulation_steps",
                          "num_iterations",
                          "beta",
                          "epsilon",
                          "epsilon_high",
                          "loss_type",
                          "scale_rewards",
                          "mask_truncated_completions",
                          "seed",
                          "save_steps",
                          "logging_steps",
                          "output_dir",
                          "reward",
                          "entropy_band",
                          "empty_answer_reward",
                          "equivalence",
                          "judge_model"}) {
    EXPECT_NE(std::find(config_keys().begin(), config_keys().end(), key), config_keys().end())
        << key;
  }
}

TEST(Config, ChatTemplateKeys) {
  const std::string base = "model_name_or_path: m\ntrain_file: t.jsonl\n";
  auto config = parse_config(base +
                                 "chat_template: templates/mine.jinja\n"
                                 "chat_template_kwargs: {enable_thinking: false, n: 2}\n",
                             "c.yaml");
  EXPECT_EQ(config.chat_template, "templates/mine.jinja");
  EXPECT_EQ(config.chat_template_kwargs, (nlohmann::json{{"enable_thinking", false}, {"n", 2}}));
  EXPECT_EQ(parse_config(to_yaml(config), "resolved.yaml"), config);
  auto override_kwargs =
      parse_config(base, "c.yaml", {"chat_template_kwargs={enable_thinking: true}"});
  EXPECT_EQ(override_kwargs.chat_template_kwargs, (nlohmann::json{{"enable_thinking", true}}));
  auto error_of = [&](const std::string& text) {
    try {
      parse_config(base + text, "c.yaml");
    } catch (const InputError& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(
      error_of("chat_template: t.jinja\nchat_format: chatml\n").find("c.yaml:3: chat_template"),
      std::string::npos);
  EXPECT_NE(error_of("chat_template_kwargs: [a, b]\n").find("c.yaml:3: chat_template_kwargs"),
            std::string::npos);
  EXPECT_NE(error_of("chat_template_kwargs: {messages: 1}\n").find("set by empo"),
            std::string::npos);
  EXPECT_NE(error_of("chat_template_kwargs: {a: [1]}\n").find("single value"), std::string::npos);
}

TEST(Config, FreeFormKeys) {
  const std::string base = "model_name_or_path: m\ntrain_file: t.csv\n";
  auto config = parse_config(base, "inline");
  EXPECT_EQ(config.copy_question_rouge, 0.0);  // off
  EXPECT_EQ(config.min_majority_share, 0.0);   // off
  EXPECT_EQ(config.judge_prompt, "entailment");
  EXPECT_EQ(config.judge_direction, JudgeDirection::bidirectional);
  config = parse_config(base +
                            "answer_extraction: full\ncopy_question_rouge: 0.8\n"
                            "copy_question_reward: 0\nmin_majority_share: 0.2\n"
                            "judge_direction: one_way\n",
                        "inline");
  EXPECT_EQ(config.answer_extraction, AnswerExtraction::full);
  EXPECT_EQ(config.copy_question_rouge, 0.8);
  EXPECT_EQ(config.min_majority_share, 0.2);
  EXPECT_EQ(config.judge_direction, JudgeDirection::one_way);
  auto error_of = [&](const std::vector<std::string>& overrides) {
    try {
      parse_config(base, "inline", overrides);
    } catch (const InputError& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of({"copy_question_rouge=1.5"}).find("copy_question_rouge: must be in [0, 1]"),
            std::string::npos);
  EXPECT_NE(error_of({"min_majority_share=-0.1"}).find("min_majority_share: must be in [0, 1]"),
            std::string::npos);
  EXPECT_NE(error_of({"judge_direction=both"}).find("one_way | bidirectional"), std::string::npos);
  // A judge template file that does not exist fails at load, naming the key.
  std::string missing =
      error_of({"equivalence=judge", "judge_model=j", "judge_prompt=no/such.txt"});
  EXPECT_NE(missing.find("judge_prompt:"), std::string::npos) << missing;
  EXPECT_NE(missing.find("no/such.txt"), std::string::npos) << missing;
}

TEST(Config, TheFreeFormRecipeHoldsOutHalfOfTruthfulQaUnlessTestTime) {
  const std::string recipe = test::source_path("configs/qwen2.5-7b-instruct-empo-freeform.yaml");
  auto config = load_config(recipe);
  EXPECT_EQ(config.truthfulqa_split, data::TruthfulQaSplit::held_out);
  EXPECT_EQ(config.question_template, data::kTruthfulQaQuestionTemplate);
  EXPECT_EQ(config.system_prompt, "");
  // The paper's test-time setting is one override.
  EXPECT_EQ(load_config(recipe, {"truthfulqa_split=test_time"}).truthfulqa_split,
            data::TruthfulQaSplit::test_time);
  // Elsewhere a CSV train_file is read whole.
  EXPECT_EQ(parse_config("model_name_or_path: m\ntrain_file: t.csv\n", "inline").truthfulqa_split,
            data::TruthfulQaSplit::test_time);
  EXPECT_THROW(
      parse_config("model_name_or_path: m\ntrain_file: t.csv\ntruthfulqa_split: half\n", "inline"),
      InputError);
}

TEST(Config, CompletionsLogKeys) {
  auto config = parse_config("model_name_or_path: m\ntrain_file: t.jsonl\n", "inline");
  EXPECT_TRUE(config.log_completions);  // TRL's name; on by default here
  EXPECT_EQ(config.num_completions_to_print, 4);
  config = parse_config("model_name_or_path: m\ntrain_file: t.jsonl\nlog_completions: false\n",
                        "inline", {"num_completions_to_print=0"});
  EXPECT_FALSE(config.log_completions);
  EXPECT_EQ(config.num_completions_to_print, 0);
  try {
    parse_config("model_name_or_path: m\ntrain_file: t.jsonl\n", "inline",
                 {"num_completions_to_print=-1"});
    ADD_FAILURE() << "negative num_completions_to_print accepted";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("num_completions_to_print"), std::string::npos)
        << error.what();
  }
}

TEST(Config, ValidateChecksConfigsBuiltInCode) {
  TrainConfig config;
  EXPECT_THROW(validate(config), InputError);  // no model, no train file
  config.model_name_or_path = "m";
  config.train_file = "t.jsonl";
  EXPECT_NO_THROW(validate(config));
  config.temperature = -0.5;
  try {
    validate(config);
    ADD_FAILURE() << "negative temperature accepted";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("temperature: must be >= 0"), std::string::npos)
        << error.what();
  }
}

TEST(Config, EnumNames) {
  EXPECT_STREQ(to_string(LossType::dr_grpo), "dr_grpo");
  EXPECT_STREQ(to_string(ChatFormat::automatic), "auto");
  EXPECT_STREQ(to_string(Dtype::automatic), "auto");
  EXPECT_STREQ(to_string(RewardType::self_certainty), "self_certainty");
  EXPECT_STREQ(to_string(LrSchedulerType::constant_with_warmup), "constant_with_warmup");
  EXPECT_STREQ(to_string(ScaleRewards::none), "none");
  EXPECT_STREQ(to_string(Equivalence::exact), "exact");
  EXPECT_STREQ(to_string(AnswerExtraction::hash_dollar), "hash_dollar");
  EXPECT_STREQ(to_string(AnswerFallback::answer_colon), "answer_colon");
}

TEST(Configs, EveryShippedConfigLoads) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(test::source_path("configs")))
    if (entry.path().extension() == ".yaml") files.push_back(entry.path().string());
  EXPECT_GE(files.size(), 5u);
  for (const auto& file : files) {
    SCOPED_TRACE(file);
    TrainConfig config;
    ASSERT_NO_THROW(config = load_config(file));
    EXPECT_NO_THROW(validate(config));
    EXPECT_EQ(parse_config(to_yaml(config), "resolved"), config);
  }
}

TEST(Configs, DemoConfigIsTheMeasuredRecipe) {
  TrainConfig config = load_config(test::source_path("configs/demo.yaml"));
  EXPECT_EQ(config.model_name_or_path, "models/adder");
  EXPECT_EQ(config.train_file, "data/adder/train.jsonl");
  EXPECT_EQ(config.answer_extraction, AnswerExtraction::hash_dollar);
  EXPECT_EQ(config.chat_format, ChatFormat::raw);
  EXPECT_EQ(config.question_template, "{question}");
  EXPECT_EQ(config.num_generations, 8);
  EXPECT_EQ(config.per_device_train_batch_size, 32);
  EXPECT_DOUBLE_EQ(config.temperature, 1.0);
  EXPECT_DOUBLE_EQ(config.learning_rate, 2e-4);
  EXPECT_DOUBLE_EQ(config.adam_beta2, 0.99);
  EXPECT_DOUBLE_EQ(config.weight_decay, 0.0);
  EXPECT_DOUBLE_EQ(config.max_grad_norm, 1.0);
  EXPECT_EQ(config.max_completion_length, 48);
  EXPECT_EQ(config.loss_type, LossType::grpo);
  EXPECT_DOUBLE_EQ(config.beta, 0.0);
  EXPECT_EQ(config.max_steps, 60);
  EXPECT_EQ(config.save_steps, 20);
  EXPECT_EQ(config.reward, RewardType::empo);
}

TEST(Configs, GspoRecipeIsTheVerlOne) {
  TrainConfig config = load_config(test::source_path("configs/qwen2.5-math-7b-empo-gspo.yaml"));
  EXPECT_EQ(config.num_generations, 16);
  EXPECT_DOUBLE_EQ(config.learning_rate, 5e-7);
  EXPECT_EQ(config.loss_type, LossType::gspo);
  EXPECT_DOUBLE_EQ(config.epsilon, 3e-4);
  EXPECT_DOUBLE_EQ(config.epsilon_high, 4e-4);
  EXPECT_EQ(config.per_device_train_batch_size * config.steps_per_generation, 256);
}

}  // namespace
}  // namespace empo::rl

namespace empo::rl {

TEST(Config, LoraKeysArePeftsAndValidated) {
  const std::string required = "model_name_or_path: m\ntrain_file: t.jsonl\n";
  auto config = parse_config(required, "inline");
  EXPECT_EQ(config.lora_r, 0);  // off
  EXPECT_EQ(config.lora_alpha, 8.0);
  EXPECT_EQ(config.lora_target_modules, (std::vector<std::string>{"q_proj", "v_proj"}));
  config = parse_config(required + "lora_r: 16\nlora_alpha: 32\nlora_dropout: 0.05\n" +
                            "lora_target_modules: [all-linear]\n",
                        "cfg.yaml");
  EXPECT_EQ(config.lora_r, 16);
  EXPECT_EQ(config.lora_alpha, 32.0);
  EXPECT_EQ(config.lora_dropout, 0.05);
  EXPECT_EQ(config.lora_target_modules, (std::vector<std::string>{"all-linear"}));
  EXPECT_EQ(parse_config(to_yaml(config), "written"), config);
  try {
    parse_config(required + "lora_target_modules: [q_proj, qkv]\n", "cfg.yaml");
    FAIL() << "expected an InputError";
  } catch (const InputError& error) {
    const std::string what = error.what();
    EXPECT_NE(what.find("cfg.yaml:3: lora_target_modules"), std::string::npos) << what;
    EXPECT_NE(what.find("qkv"), std::string::npos) << what;
  }
  EXPECT_THROW(parse_config(required, "inline", {"lora_r=-1"}), InputError);
  EXPECT_THROW(parse_config(required, "inline", {"lora_dropout=1"}), InputError);
  EXPECT_THROW(parse_config(required, "inline", {"lora_alpha=0"}), InputError);
}

}  // namespace empo::rl
