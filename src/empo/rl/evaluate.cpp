#include "empo/rl/evaluate.h"

namespace empo::rl {

namespace {

eval::Completion grade(const std::string& text, const data::Question& question,
                       const std::vector<std::string>& goldens, const EvalSettings& settings) {
  eval::Completion completion;
  completion.text = text;
  completion.answer = reward::extract_answer(text, settings.answer);
  if (!completion.answer.empty())
    for (const auto& golden : goldens)
      if (settings.equivalence.matches(question.text, completion.answer, golden)) {
        completion.correct = true;
        break;
      }
  return completion;
}

generate::GenerationConfig generation(const EvalSettings& settings, const at::Device& device,
                                      bool greedy, size_t total) {
  generate::GenerationConfig config;
  config.max_new_tokens = settings.max_new_tokens;
  config.prompts_per_batch = settings.prompts_per_batch;
  config.kv_budget_bytes = generate::kv_budget_bytes(device, settings.memory_fraction);
  config.cuda_graphs = settings.cuda_graphs;
  config.session = settings.session;
  config.seed = settings.seed;
  config.sampling = settings.sampling;
  config.sampling.greedy = greedy;
  config.num_samples = greedy ? 1 : settings.samples;
  if (settings.on_progress)
    config.on_batch_done = [&settings, greedy, total](size_t done) {
      settings.on_progress(greedy ? "greedy" : "sampled", done, total);
    };
  return config;
}

}  // namespace

std::vector<eval::QuestionResult> evaluate_questions(const generate::Policy& policy,
                                                     const std::vector<data::Question>& questions,
                                                     const EvalSettings& settings) {
  std::vector<std::vector<int64_t>> prompts;
  std::vector<std::vector<std::string>> goldens;
  for (const auto& question : questions) {
    prompts.push_back(generate::build_prompt(policy, settings.prompt, question));
    goldens.push_back(golden_answers(question, settings.answer));
  }
  std::vector<eval::QuestionResult> results(questions.size());
  const auto device = policy.model.weights.embed_tokens.device();
  if (settings.greedy) {
    if (settings.on_progress) settings.on_progress("greedy", 0, questions.size());
    auto completions =
        generate::complete(policy, prompts, generation(settings, device, true, questions.size()));
    for (size_t i = 0; i < questions.size(); ++i)
      results[i].greedy = grade(completions.texts[i], questions[i], goldens[i], settings);
  }
  if (settings.samples > 0) {
    const size_t k = static_cast<size_t>(settings.samples);
    if (settings.on_progress) settings.on_progress("sampled", 0, questions.size());
    auto completions =
        generate::complete(policy, prompts, generation(settings, device, false, questions.size()));
    for (size_t i = 0; i < questions.size(); ++i) {
      std::vector<std::string> answers;
      for (size_t j = 0; j < k; ++j) {
        results[i].samples.push_back(
            grade(completions.texts[i * k + j], questions[i], goldens[i], settings));
        answers.push_back(results[i].samples.back().answer);
      }
      auto clustering = settings.equivalence.cluster(questions[i].text, answers);
      for (size_t j = 0; j < k; ++j) results[i].samples[j].cluster = clustering.cluster_ids[j];
    }
  }
  return results;
}

EvalSettings eval_settings_from(const TrainConfig& config, const AnswerEquivalence& equivalence,
                                int64_t samples) {
  EvalSettings settings;
  settings.prompt.system_prompt = config.system_prompt;
  settings.prompt.question_template = config.question_template;
  if (config.chat_format == ChatFormat::chatml) settings.prompt.format = text::ChatFormat::chatml;
  if (config.chat_format == ChatFormat::raw) settings.prompt.format = text::ChatFormat::raw;
  settings.prompt.chat_template_kwargs = config.chat_template_kwargs;
  settings.max_new_tokens = config.max_completion_length;
  settings.samples = samples;
  settings.sampling.temperature = config.temperature;
  settings.sampling.top_p = config.top_p;
  settings.sampling.top_k = config.top_k;
  settings.sampling.min_p = config.min_p;
  settings.seed = config.seed;
  settings.prompts_per_batch = std::max(1, config.per_device_train_batch_size);
  settings.cuda_graphs = config.rollout_cuda_graphs;
  settings.memory_fraction = config.rollout_memory_fraction;
  settings.answer = answer_config(config);
  settings.equivalence = equivalence;
  return settings;
}

}  // namespace empo::rl
