#pragma once
// A policy as users bring it: a Hugging Face folder with weights, tokenizer and chat format,
// plus the path from a question to prompt ids and from prompts to decoded completions.
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "empo/data/prompt_source.h"
#include "empo/generate/engine.h"
#include "empo/model/weights.h"
#include "empo/text/chat_template.h"
#include "empo/text/tokenizer.h"

namespace empo::generate {

struct Policy {
  std::string folder;
  model::Model model;
  text::Tokenizer tokenizer;
  text::ChatTemplate chat;
};

// Weights, tokenizer.json and the chat template/EOS ids of a model folder. `chat_template`
// picks the template as text::load_chat_template's `choice` does ("" the model's, a name from
// its template list, or a Jinja file).
Policy load_policy(const std::string& folder, const model::LoadOptions& options,
                   const std::string& chat_template = "");

struct PromptSettings {
  std::string system_prompt;  // empty: none (unless the question carries one)
  std::string question_template = "{question}";
  std::optional<text::ChatFormat> format;  // unset: the model folder's template (or raw)
  // Extra template variables, e.g. {"enable_thinking": false} (chat_template_kwargs).
  nlohmann::json chat_template_kwargs = nlohmann::json::object();
  int64_t max_prompt_length = 0;  // tokens; 0: no limit
  // Longer prompts keep their last max_prompt_length tokens (TRL's left truncation) instead
  // of being an error.
  bool truncate_left = false;
};

// A JSON object of template variables given on the command line (`where` names the flag).
nlohmann::json parse_chat_template_kwargs(const std::string& text, const std::string& where);

// The chat-formatted prompt ids of a question, ending in the generation prompt. A prompt
// longer than max_prompt_length is an InputError naming the question, or with truncate_left
// cut to its last max_prompt_length tokens (*truncated says so).
std::vector<int64_t> build_prompt(const Policy& policy, const PromptSettings& settings,
                                  const data::Question& question, bool* truncated = nullptr);

// The same for ready chat messages (`empo generate` input): a JSON array of message objects,
// every key of which reaches the template.
std::vector<int64_t> build_prompt(const Policy& policy, const PromptSettings& settings,
                                  const nlohmann::json& messages);
std::vector<int64_t> build_prompt(const Policy& policy, const PromptSettings& settings,
                                  const std::vector<text::Message>& messages);

struct Completions {
  std::vector<Sample> samples;     // prompt-major: prompt i's G samples at [i*G, (i+1)*G)
  std::vector<std::string> texts;  // decoded, special tokens skipped
  GenerationStats stats;
};

// Generates with the policy's EOS ids (added to config.eos_token_ids) and decodes.
Completions complete(const Policy& policy, const std::vector<std::vector<int64_t>>& prompts,
                     GenerationConfig config, const std::vector<uint64_t>& prompt_seeds = {});

// A judge model's answer to a yes/no question: the prompt is sent as a chat user turn (or,
// with chat_turn false, verbatim as raw text), and log P(Yes) / log P(No) of the next token
// are read from one forward pass ("Yes" and " Yes" spellings are pooled).
std::function<std::pair<double, double>(const std::string& prompt)> yes_no_scorer(
    const Policy& judge, bool chat_turn = true);

}  // namespace empo::generate
