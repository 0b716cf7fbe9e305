#include "empo/rl/sft.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "empo/io/error.h"
#include "empo/model/transformer.h"
#include "test_support.h"

namespace empo::rl {
namespace {

SmallModelSpec tiny_spec() {
  SmallModelSpec spec;
  spec.hidden_size = 32;
  spec.num_hidden_layers = 1;
  spec.num_attention_heads = 2;
  spec.num_key_value_heads = 1;
  spec.intermediate_size = 64;
  spec.max_position_embeddings = 64;
  return spec;
}

model::Model tiny_model(uint64_t seed = 0) {
  return model::random_model(small_model_config(tiny_spec(), text::CharVocabulary{}), seed);
}

const text::Tokenizer& char_tokenizer() {
  static const text::Tokenizer tokenizer = [] {
    std::string folder = test::temp_dir("sft_tokenizer");
    text::write_char_tokenizer(folder, text::CharVocabulary{});
    return text::Tokenizer::load(folder);
  }();
  return tokenizer;
}

std::vector<int64_t> ids(const std::string& text) {
  return encode_exactly(char_tokenizer(), text, "test");
}

// The loss by hand: each example alone (no padding), full logits, completion positions only.
double reference_loss(const model::Model& model, const std::vector<SftExample>& batch) {
  at::NoGradGuard no_grad;
  double total = 0;
  int64_t count = 0;
  for (const auto& example : batch) {
    std::vector<int64_t> sequence = example.prompt;
    sequence.insert(sequence.end(), example.completion.begin(), example.completion.end());
    auto input = at::tensor(sequence, at::kLong).unsqueeze(0);
    auto logits = model::forward_logits(model, model::make_batch(input, at::ones_like(input)));
    auto logprobs = at::log_softmax(logits[0], 1);
    for (std::size_t t = example.prompt.size(); t < sequence.size(); ++t) {
      total -= logprobs[t - 1][sequence[t]].item<double>();
      ++count;
    }
  }
  return total / static_cast<double>(count);
}

TEST(Sft, LossIsTheMeanNllOfCompletionTokensOnly) {
  auto model = tiny_model();
  std::vector<SftExample> batch = {{ids("12+34+56="), ids("12+34=46,46+56=102,#102$")},
                                   {ids("99+10+11+12="), ids("#132$")},
                                   {ids("1"), ids("2")}};
  SftLoss loss = sft_loss(model, batch, 15);
  EXPECT_EQ(loss.tokens, 24 + 5 + 1);
  EXPECT_NEAR(loss.loss.item<double>(), reference_loss(model, batch), 1e-5);
  // Changing a prompt changes the conditioning but the scored tokens stay the same.
  batch[1].prompt = ids("1+2+3+4+5+6=");
  EXPECT_EQ(sft_loss(model, batch, 15).tokens, 30);
  EXPECT_NEAR(sft_loss(model, batch, 15).loss.item<double>(), reference_loss(model, batch), 1e-5);
}

TEST(Sft, LossRejectsEmptyExamplesAndForeignIds) {
  auto model = tiny_model();
  EXPECT_THROW(sft_loss(model, {}), std::invalid_argument);
  EXPECT_THROW(sft_loss(model, {{{}, {1}}}), std::invalid_argument);
  EXPECT_THROW(sft_loss(model, {{{1}, {}}}), std::invalid_argument);
  EXPECT_THROW(sft_loss(model, {{{1}, {16}}}), InputError);
}

TEST(Sft, TrainingOnAFixedBatchLowersTheLoss) {
  auto model = tiny_model(3);
  std::vector<SftExample> batch;
  for (const auto& problem : addition_step_problems({}, 7, 0, 8))
    batch.push_back({ids(problem.question), ids(problem.reasoning)});
  SftSettings settings;
  settings.steps = 40;
  settings.learning_rate = 1e-2;
  settings.warmup_steps = 5;
  settings.log_every = 10;
  std::vector<SftLog> logs;
  auto losses = run_sft(
      model, settings, [&](long) { return batch; }, 15,
      [&](const SftLog& log) { logs.push_back(log); });
  ASSERT_EQ(losses.size(), 40u);
  EXPECT_LT(losses.back(), 0.6 * losses.front()) << losses.front() << " -> " << losses.back();
  ASSERT_EQ(logs.size(), 4u);
  EXPECT_EQ(logs.back().step, 40);
  EXPECT_EQ(logs.back().window, 10);
  EXPECT_LT(logs.back().loss, logs.front().loss);
  EXPECT_DOUBLE_EQ(logs.front().lr, 1e-2);  // warmup done by step 10
  // Training leaves the weights as plain tensors again.
  EXPECT_FALSE(model.weights.embed_tokens.requires_grad());
}

TEST(Sft, RunsAreAFunctionOfTheSeed) {
  auto train = [](uint64_t seed, long log_every) {
    auto model = tiny_model();
    SftSettings settings;
    settings.steps = 5;
    settings.batch_size = 4;
    settings.warmup_steps = 1;
    settings.log_every = log_every;
    auto source = addition_batches({}, char_tokenizer(), seed, settings.batch_size);
    return run_sft(model, settings, source, 15);
  };
  EXPECT_EQ(train(1, 2), train(1, 5));
  EXPECT_NE(train(1, 2), train(2, 2));
}

TEST(Sft, GradientCheckpointingTrainsLikeWithout) {
  auto train = [](bool checkpointing) {
    auto model = tiny_model();
    model.gradient_checkpointing = checkpointing;
    SftSettings settings;
    settings.steps = 4;
    settings.batch_size = 4;
    settings.warmup_steps = 1;
    auto source = addition_batches({}, char_tokenizer(), 1, settings.batch_size);
    return run_sft(model, settings, source, 15);
  };
  auto plain = train(false), checkpointed = train(true);
  ASSERT_EQ(plain.size(), checkpointed.size());
  for (size_t i = 0; i < plain.size(); ++i) EXPECT_NEAR(checkpointed[i], plain[i], 1e-5) << i;
}

TEST(Sft, AdditionStepsDrawFreshTrainQuestions) {
  AdditionSftData data;
  std::vector<bool> direct;
  auto first = addition_step_problems(data, 0, 0, 500, &direct);
  ASSERT_EQ(first.size(), 500u);
  EXPECT_EQ(direct, std::vector<bool>(500, false));
  std::set<std::string> questions;
  for (const auto& problem : first) {
    EXPECT_EQ(data::split_of(problem.question, data.task.test_percent), data::Split::train);
    EXPECT_TRUE(problem.terms.size() == 3 || problem.terms.size() == 4);
    questions.insert(problem.question);
  }
  EXPECT_GT(questions.size(), 490u);
  // A function of (seed, step): the same again, different at another step or seed.
  EXPECT_EQ(addition_step_problems(data, 0, 0, 500)[123].question, first[123].question);
  auto second = addition_step_problems(data, 0, 1, 500);
  auto other_seed = addition_step_problems(data, 1, 0, 500);
  int same_step = 0, same_seed = 0;
  for (std::size_t i = 0; i < 500; ++i) {
    same_step += second[i].question == first[i].question;
    same_seed += other_seed[i].question == first[i].question;
  }
  EXPECT_LT(same_step, 5);
  EXPECT_LT(same_seed, 5);
}

TEST(Sft, DirectFractionPicksTargetsWithoutChangingQuestions) {
  AdditionSftData data;
  data.direct_fraction = 0.6;
  std::vector<bool> direct;
  auto problems = addition_step_problems(data, 4, 2, 2000, &direct);
  int count = 0;
  for (bool value : direct) count += value;
  EXPECT_NEAR(count / 2000.0, 0.6, 0.04);
  auto plain = addition_step_problems({}, 4, 2, 2000);
  for (std::size_t i = 0; i < plain.size(); ++i)
    ASSERT_EQ(plain[i].question, problems[i].question) << i;
  data.direct_fraction = 1.0;
  addition_step_problems(data, 4, 2, 100, &direct);
  EXPECT_EQ(direct, std::vector<bool>(100, true));

  auto batch = addition_batches(data, char_tokenizer(), 4, 3)(0);
  ASSERT_EQ(batch.size(), 3u);
  auto first = addition_step_problems(data, 4, 0, 3)[0];
  EXPECT_EQ(batch[0].prompt, ids(first.question));
  EXPECT_EQ(batch[0].completion, ids(first.direct));

  data.direct_fraction = 1.5;
  EXPECT_THROW(addition_step_problems(data, 0, 0, 1), InputError);
}

TEST(Sft, DatasetBatchesVisitEveryExampleOncePerEpoch) {
  std::vector<SftExample> examples;
  for (int64_t i = 0; i < 10; ++i) examples.push_back({{i}, {i}});
  auto source = dataset_batches(examples, 3, 4);
  std::vector<int64_t> seen;
  for (long step = 0; step < 5; ++step)  // 20 positions: two epochs
    for (const auto& example : source(step)) seen.push_back(example.prompt[0]);
  std::multiset<int64_t> epoch1(seen.begin(), seen.begin() + 10);
  std::multiset<int64_t> epoch2(seen.begin() + 10, seen.end());
  std::multiset<int64_t> all = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  EXPECT_EQ(epoch1, all);
  EXPECT_EQ(epoch2, all);
  EXPECT_NE(std::vector<int64_t>(seen.begin(), seen.begin() + 10),
            std::vector<int64_t>(seen.begin() + 10, seen.end()));
  // Asking for a step out of order gives the same batch.
  auto again = dataset_batches(examples, 3, 4);
  auto late = again(3);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(late[i].prompt[0], seen[12 + i]);
}

TEST(Sft, JsonlExamplesGetEosAndBadLinesNameFileAndLine) {
  std::string dir = test::temp_dir("sft_jsonl");
  std::string good = dir + "/good.jsonl";
  test::write_text(good,
                   "{\"prompt\": \"12+3=\", \"completion\": \"#15$\"}\n\n"
                   "{\"prompt\": \"1+1=\", \"completion\": \"#2\", \"id\": 7}\n");
  auto examples = read_sft_jsonl(good, char_tokenizer(), {14}, 64);
  ASSERT_EQ(examples.size(), 2u);
  EXPECT_EQ(examples[0].prompt, ids("12+3="));
  EXPECT_EQ(examples[0].completion, ids("#15$"));  // already ends with EOS
  EXPECT_EQ(examples[1].completion, ids("#2$"));   // EOS appended
  EXPECT_EQ(read_sft_jsonl(good, char_tokenizer(), {}, 64)[1].completion, ids("#2"));

  auto expect_error = [&](const std::string& contents, const std::string& where,
                          int64_t max_tokens = 64) {
    std::string path = dir + "/bad.jsonl";
    test::write_text(path, contents);
    try {
      read_sft_jsonl(path, char_tokenizer(), {14}, max_tokens);
      ADD_FAILURE() << "no error for " << contents;
    } catch (const InputError& error) {
      EXPECT_NE(std::string(error.what()).find(where), std::string::npos) << error.what();
    }
  };
  std::string ok = "{\"prompt\": \"1=\", \"completion\": \"#1$\"}\n";
  expect_error(ok + "{\"prompt\": \"1=\"}\n", "bad.jsonl:2");
  expect_error(ok + ok + "{\"prompt\": 3, \"completion\": \"1\"}\n", "bad.jsonl:3");
  expect_error("{\"prompt\": \"\", \"completion\": \"1\"}\n", "bad.jsonl:1");
  expect_error("{\"prompt\": \"1=\", \"completion\": \"a1\"}\n", "bad.jsonl:1");
  expect_error("not json\n", "bad.jsonl:1");
  expect_error(ok, "bad.jsonl:1", 4);
  expect_error("\n", "no examples");
  EXPECT_THROW(read_sft_jsonl(dir + "/missing.jsonl", char_tokenizer(), {14}, 64), InputError);
}

TEST(Sft, ScoresGreedySampledAndMajority) {
  std::vector<std::string> questions = {"10+20+30=", "11+22+33+44="};
  std::vector<std::string> greedy = {"#60$", "11+22=33,33+33=66,66+44=110,#110$"};
  std::vector<std::vector<std::string>> samples = {
      // Majority 60 (two), one wrong, one without an answer.
      {"#60$", "10+20=30,30+30=60,#60$", "#61$", "10+20=3"},
      // Tie between 100 and 110 (two each): the earliest answer, 100, wins; wrong.
      {"#100$", "#110$", "#100$", "#110$"}};
  auto result = score_addition(questions, greedy, samples);
  EXPECT_EQ(result.questions, 2u);
  EXPECT_EQ(result.samples, 4);
  EXPECT_DOUBLE_EQ(result.greedy_pass1, 1.0);
  EXPECT_DOUBLE_EQ(result.sampled_pass1, (2.0 / 4 + 2.0 / 4) / 2);
  EXPECT_DOUBLE_EQ(result.maj_at_g, 0.5);
  EXPECT_DOUBLE_EQ(result.greedy_direct, 0.5);
  EXPECT_DOUBLE_EQ(result.sampled_direct, 6.0 / 8);

  greedy[0] = "#6$";
  samples[1] = {"x", "y", "#110$", "z"};  // one answer beats three non-answers
  result = score_addition(questions, greedy, samples);
  EXPECT_DOUBLE_EQ(result.greedy_pass1, 0.5);
  EXPECT_DOUBLE_EQ(result.maj_at_g, 1.0);
  EXPECT_THROW(score_addition(questions, {"#1$"}, samples), std::invalid_argument);
}

TEST(Sft, EvaluationOfAModelIsDeterministicAndInRange) {
  auto model = tiny_model();
  AdditionEvalSettings settings;
  settings.questions = 6;
  settings.samples = 3;
  settings.max_new_tokens = 8;
  auto first = evaluate_addition(model, char_tokenizer(), {14}, settings);
  auto second = evaluate_addition(model, char_tokenizer(), {14}, settings);
  EXPECT_EQ(first.questions, 6u);
  EXPECT_EQ(first.samples, 3);
  for (double value : {first.greedy_pass1, first.sampled_pass1, first.maj_at_g, first.greedy_direct,
                       first.sampled_direct}) {
    EXPECT_GE(value, 0.0);
    EXPECT_LE(value, 1.0);
  }
  EXPECT_EQ(first.sampled_direct, second.sampled_direct);
  EXPECT_EQ(first.maj_at_g, second.maj_at_g);
  std::string line = format_addition_evaluation(first);
  EXPECT_NE(line.find("maj@3"), std::string::npos) << line;
  EXPECT_NE(line.find("6 test questions"), std::string::npos) << line;
  settings.questions = 0;
  EXPECT_THROW(evaluate_addition(model, char_tokenizer(), {14}, settings), InputError);
}

TEST(Sft, InitAndSaveWriteLoadableFolders) {
  std::string dir = test::temp_dir("sft_folders");
  init_char_model(dir + "/init", tiny_spec(), text::CharVocabulary{}, 5);
  auto loaded = model::load_model(dir + "/init");
  EXPECT_EQ(loaded.config.model_type, "qwen2");
  EXPECT_EQ(loaded.config.vocab_size, 16);
  EXPECT_TRUE(loaded.config.tie_word_embeddings);
  EXPECT_EQ(loaded.config.eos_token_ids, std::vector<int64_t>{14});
  EXPECT_TRUE(at::equal(loaded.weights.embed_tokens, tiny_model(5).weights.embed_tokens));
  EXPECT_EQ(text::Tokenizer::load(dir + "/init").encode("#1$").size(), 3u);

  // Saving over an existing folder replaces it whole; the tokenizer files come along.
  std::filesystem::create_directories(dir + "/out");
  test::write_text(dir + "/out/stale.txt", "old");
  auto other = tiny_model(9);
  save_model_folder(other, dir + "/init", dir + "/out");
  EXPECT_FALSE(std::filesystem::exists(dir + "/out/stale.txt"));
  for (const char* name : {"config.json", "model.safetensors", "tokenizer.json",
                           "tokenizer_config.json", "generation_config.json"})
    EXPECT_TRUE(std::filesystem::exists(dir + "/out/" + name)) << name;
  auto saved = model::load_model(dir + "/out");
  EXPECT_TRUE(at::equal(saved.weights.layers[0].q_proj, other.weights.layers[0].q_proj));
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos);

  SmallModelSpec bad = tiny_spec();
  bad.num_attention_heads = 3;
  EXPECT_THROW(small_model_config(bad, text::CharVocabulary{}), InputError);
  bad = tiny_spec();
  bad.num_key_value_heads = 0;
  EXPECT_THROW(small_model_config(bad, text::CharVocabulary{}), InputError);
}

TEST(Sft, SettingsAreValidated) {
  auto invalid = [](auto change) {
    SftSettings settings;
    change(settings);
    return settings;
  };
  EXPECT_NO_THROW(validate(SftSettings{}));
  EXPECT_THROW(validate(invalid([](SftSettings& s) { s.steps = 0; })), InputError);
  EXPECT_THROW(validate(invalid([](SftSettings& s) { s.batch_size = -1; })), InputError);
  EXPECT_THROW(validate(invalid([](SftSettings& s) { s.learning_rate = 0; })), InputError);
  EXPECT_THROW(validate(invalid([](SftSettings& s) { s.warmup_steps = -1; })), InputError);
  EXPECT_THROW(validate(invalid([](SftSettings& s) { s.weight_decay = -0.1; })), InputError);
  EXPECT_THROW(validate(invalid([](SftSettings& s) { s.max_grad_norm = -1; })), InputError);
  EXPECT_THROW(validate(invalid([](SftSettings& s) { s.adam_beta2 = 1.0; })), InputError);
}

}  // namespace
}  // namespace empo::rl
