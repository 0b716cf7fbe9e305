#pragma once
// Chat formatting for prompts: ChatML as Qwen uses it, or raw text.
//
//   chatml: "<|im_start|>{role}\n{content}<|im_end|>\n" per message, then
//           "<|im_start|>assistant\n" when a generation prompt is asked for. A default system
//           prompt, when configured, is put first if no message has the system role.
//   raw:    the messages' contents concatenated, no template, no system prompt (for base
//           models prompted with plain text).
//
// The rendered text goes through Tokenizer::encode, so the markers become their special
// tokens, as with Hugging Face's apply_chat_template(tokenize=True).
#include <string>
#include <vector>

#include "empo/text/tokenizer.h"

namespace empo::text {

enum class ChatFormat { chatml, raw };

struct Message {
  std::string role;  // "system", "user", "assistant", ...
  std::string content;
};

struct ChatTemplate {
  ChatFormat format = ChatFormat::chatml;
  std::string default_system_prompt;  // empty: none
  std::vector<TokenId> eos_ids;       // generation stops at any of these
};

// "chatml" or "raw"; anything else is an InputError naming `source` (a config file, a flag).
ChatFormat parse_chat_format(const std::string& name, const std::string& source);
const char* chat_format_name(ChatFormat format);

// The chat settings of a model folder (or of the folder holding a tokenizer.json path), from
// whichever of these files exist:
//   tokenizer_config.json   "chat_template" (a string, or a list of {name, template} whose
//                           "default" entry is used) and "eos_token" (a string or
//                           {"content": ...});
//   chat_template.jinja     the template, when stored on its own (it wins over the config's);
//   generation_config.json  "eos_token_id", an id or a list of ids.
// Format: chatml when the template contains "<|im_start|>", else raw (no template, or a
// template of another family, which is not interpreted). A template that hard-codes a system
// turn for conversations without one (Qwen2.5: "You are Qwen, created by Alibaba Cloud. ...")
// gives default_system_prompt. EOS ids: generation_config's, then tokenizer_config's
// eos_token; with chatml, <|im_end|> is always among them since it closes every turn.
// Throws InputError naming the file for unreadable JSON or an eos_token the tokenizer lacks.
ChatTemplate load_chat_template(const std::string& model_path, const Tokenizer& tokenizer);

// The default system prompt a Jinja chat template hard-codes (see above), or "".
std::string template_default_system_prompt(const std::string& jinja_template);

std::string render_chat(const ChatTemplate& chat, const std::vector<Message>& messages,
                        bool add_generation_prompt);

std::vector<TokenId> render_chat_ids(const ChatTemplate& chat, const Tokenizer& tokenizer,
                                     const std::vector<Message>& messages,
                                     bool add_generation_prompt);

}  // namespace empo::text
