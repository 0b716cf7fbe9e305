#include "empo/generate/policy.h"

#include <algorithm>

#include "empo/generate/judge_scorer.h"
#include "empo/io/error.h"
#include "empo/io/jsonl.h"
#include "empo/model/transformer.h"

namespace empo::generate {

Policy load_policy(const std::string& folder, const model::LoadOptions& options,
                   const std::string& chat_template) {
  Policy policy{folder, model::load_model(folder, options), text::Tokenizer::load(folder), {}};
  // A tokenizer that can emit ids past the embedding would index out of range mid-run.
  if (policy.tokenizer.vocab_size() > static_cast<std::size_t>(policy.model.config.vocab_size))
    throw InputError(folder + "/tokenizer.json: token ids reach " +
                     std::to_string(policy.tokenizer.vocab_size() - 1) +
                     ", but config.json's vocab_size is " +
                     std::to_string(policy.model.config.vocab_size) +
                     " (tokenizer and model do not belong together)");
  policy.chat = text::load_chat_template(folder, policy.tokenizer, chat_template);
  for (int64_t id : policy.model.config.eos_token_ids)
    if (std::find(policy.chat.eos_ids.begin(), policy.chat.eos_ids.end(), id) ==
        policy.chat.eos_ids.end())
      policy.chat.eos_ids.push_back(static_cast<text::TokenId>(id));
  return policy;
}

nlohmann::json parse_chat_template_kwargs(const std::string& text, const std::string& where) {
  nlohmann::json kwargs = io::parse_json(text, where);
  if (!kwargs.is_object())
    throw InputError(where + ": expected a JSON object such as {\"enable_thinking\": false}");
  return kwargs;
}

std::vector<int64_t> build_prompt(const Policy& policy, const PromptSettings& settings,
                                  const nlohmann::json& messages) {
  const std::string rendered =
      settings.format
          ? text::render_chat(text::with_format(policy.chat, *settings.format, policy.tokenizer),
                              messages, true, settings.chat_template_kwargs)
          : text::render_chat(policy.chat, messages, true, settings.chat_template_kwargs);
  auto ids = policy.tokenizer.encode(rendered);
  for (auto id : ids)
    if (id < 0 || id >= policy.model.config.vocab_size)
      throw InputError(policy.folder + ": the tokenizer produced id " + std::to_string(id) +
                       ", outside the model's vocabulary of " +
                       std::to_string(policy.model.config.vocab_size));
  return std::vector<int64_t>(ids.begin(), ids.end());
}

std::vector<int64_t> build_prompt(const Policy& policy, const PromptSettings& settings,
                                  const std::vector<text::Message>& messages) {
  return build_prompt(policy, settings, text::messages_json(messages));
}

std::vector<int64_t> build_prompt(const Policy& policy, const PromptSettings& settings,
                                  const data::Question& question, bool* truncated) {
  if (truncated) *truncated = false;
  std::vector<text::Message> messages;
  const std::string& system =
      question.system_prompt.empty() ? settings.system_prompt : question.system_prompt;
  if (!system.empty()) messages.push_back({"system", system});
  messages.push_back({"user", data::apply_question_template(settings.question_template, question)});
  auto ids = build_prompt(policy, settings, messages);
  const bool too_long = settings.max_prompt_length > 0 &&
                        static_cast<int64_t>(ids.size()) > settings.max_prompt_length;
  if (too_long && settings.truncate_left) {
    ids.erase(ids.begin(), ids.end() - settings.max_prompt_length);
    if (truncated) *truncated = true;
  } else if (too_long) {
    throw InputError("question " + question.id + ": prompt is " + std::to_string(ids.size()) +
                     " tokens, longer than max_prompt_length " +
                     std::to_string(settings.max_prompt_length) +
                     " (raise it, or set truncate_prompts: left)");
  }
  return ids;
}

Completions complete(const Policy& policy, const std::vector<std::vector<int64_t>>& prompts,
                     GenerationConfig config, const std::vector<uint64_t>& prompt_seeds) {
  for (auto id : policy.chat.eos_ids)
    if (std::find(config.eos_token_ids.begin(), config.eos_token_ids.end(), id) ==
        config.eos_token_ids.end())
      config.eos_token_ids.push_back(id);
  const auto& tokenizer = policy.tokenizer;
  Decoder decode = [&tokenizer](const std::vector<int64_t>& ids) {
    std::vector<text::TokenId> narrow(ids.begin(), ids.end());
    return tokenizer.decode(narrow, true);
  };
  Completions result;
  result.samples = generate(policy.model, prompts, config, decode, prompt_seeds, &result.stats);
  for (const auto& sample : result.samples) result.texts.push_back(decode(sample.tokens));
  return result;
}

std::function<std::pair<double, double>(const std::string& prompt)> yes_no_scorer(
    const Policy& judge, bool chat_turn) {
  auto batch = yes_no_batch_scorer(judge, chat_turn, 1);
  return [batch](const std::string& prompt) { return batch({prompt}).front(); };
}

}  // namespace empo::generate
