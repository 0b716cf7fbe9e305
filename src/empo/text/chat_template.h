#pragma once
// Prompts from chat messages, rendered as Hugging Face's apply_chat_template renders them: the
// model's own Jinja chat template through empo's Jinja2 renderer (text/jinja_template.h).
//
// Formats (the `chat_format` config key and --chat-format flag):
//   auto:   the model's template, or raw when the model folder has none;
//   chatml: a built-in ChatML template ("<|im_start|>{role}\n{content}<|im_end|>\n" per
//           message, "<|im_start|>assistant\n" as the generation prompt), rendered by the same
//           renderer, for models without a template of their own;
//   raw:    the messages' contents concatenated (base models prompted with plain text).
// A template's own default system prompt (Qwen2.5's "You are Qwen, ...") comes from rendering
// it, as in transformers; nothing is guessed from the template's text.
//
// The rendered text goes through Tokenizer::encode, so markers become their special tokens, as
// with apply_chat_template(tokenize=True).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "empo/text/jinja_template.h"
#include "empo/text/tokenizer.h"

namespace empo::text {

enum class ChatFormat { chatml, raw };

struct Message {
  std::string role;  // "system", "user", "assistant", ...
  std::string content;
};

struct ChatTemplate {
  std::shared_ptr<const jinja::Template> jinja;  // null: raw (contents concatenated)
  // Template variables from tokenizer_config.json: bos_token, eos_token, pad_token, unk_token
  // (those set), as transformers passes its special_tokens_map.
  std::vector<std::pair<std::string, std::string>> special_tokens;
  std::vector<TokenId> eos_ids;  // generation stops at any of these
};

// "chatml" or "raw"; anything else is an InputError naming `source` (a config file, a flag).
ChatFormat parse_chat_format(const std::string& name, const std::string& source);
const char* chat_format_name(ChatFormat format);

// The chat settings of a model folder (or of the folder holding a tokenizer.json path), from
// whichever of these files exist:
//   tokenizer_config.json   "chat_template" (a string, or a list of {name, template}), the
//                           special tokens (a string or {"content": ...}) and "eos_token";
//   chat_template.jinja     the template, stored on its own (it wins over the config's);
//   generation_config.json  "eos_token_id", an id or a list of ids.
// `choice` picks the template: "" is the model's ("default" of a list), a name picks that entry
// of the list, anything else is a template FILE (--chat-template, the chat_template key).
// EOS ids: generation_config's, then tokenizer_config's eos_token, then <|im_end|> when the
// template closes turns with it (ChatML families). Throws InputError naming the file for
// unreadable JSON, an eos_token the tokenizer lacks, a missing template file or a template that
// does not parse (with its line).
ChatTemplate load_chat_template(const std::string& model_path, const Tokenizer& tokenizer,
                                const std::string& choice = "");

// The same settings with the template `format` asks for (see above): chatml swaps in the
// built-in ChatML template, raw drops the template.
ChatTemplate with_format(ChatTemplate chat, ChatFormat format, const Tokenizer& tokenizer);

// The built-in ChatML template (Jinja source).
const std::string& chatml_template_source();

// Renders `messages` (a JSON array of message objects; other keys than role and content pass
// through to the template) with add_generation_prompt and `kwargs` (a JSON object of extra
// template variables such as {"enable_thinking": false}; they override special tokens of the
// same name, as in transformers). A template's raise_exception or any render failure is an
// InputError naming the template and line.
std::string render_chat(const ChatTemplate& chat, const nlohmann::json& messages,
                        bool add_generation_prompt,
                        const nlohmann::json& kwargs = nlohmann::json::object());
std::string render_chat(const ChatTemplate& chat, const std::vector<Message>& messages,
                        bool add_generation_prompt,
                        const nlohmann::json& kwargs = nlohmann::json::object());

std::vector<TokenId> render_chat_ids(const ChatTemplate& chat, const Tokenizer& tokenizer,
                                     const std::vector<Message>& messages,
                                     bool add_generation_prompt,
                                     const nlohmann::json& kwargs = nlohmann::json::object());

// Messages as the JSON array render_chat takes.
nlohmann::json messages_json(const std::vector<Message>& messages);

}  // namespace empo::text
