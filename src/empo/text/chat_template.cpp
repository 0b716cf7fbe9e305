#include "empo/text/chat_template.h"

#include <algorithm>
#include <filesystem>

#include "empo/io/error.h"
#include "empo/io/jsonl.h"

namespace empo::text {

namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kImEnd = "<|im_end|>";
constexpr const char* kSpecialTokenKeys[] = {"bos_token", "eos_token", "unk_token", "pad_token"};

Json read_json(const fs::path& path) {
  return io::parse_json(io::read_file(path.string()), path.string());
}

// A template chosen from tokenizer_config.json's "chat_template": its text and whether one was
// found. `name` empty: the plain string, or the "default" entry of a list.
bool config_template(const Json& config, const fs::path& path, const std::string& name,
                     std::string& text) {
  auto found = config.find("chat_template");
  if (found == config.end() || found->is_null()) return false;
  if (found->is_string()) {
    if (!name.empty()) return false;
    text = found->get<std::string>();
    return true;
  }
  if (!found->is_array())
    throw_input_error(path.string(), 0, "\"chat_template\" must be a string or a list");
  const std::string wanted = name.empty() ? "default" : name;
  for (const Json& entry : *found) {
    if (!entry.is_object() || !entry.contains("name") || !entry.contains("template") ||
        !entry["name"].is_string() || !entry["template"].is_string())
      throw_input_error(path.string(), 0,
                        "each \"chat_template\" entry must be {\"name\": ..., \"template\": ...}");
    if (entry["name"].get<std::string>() == wanted) {
      text = entry["template"].get<std::string>();
      return true;
    }
  }
  return false;
}

void add_unique(std::vector<TokenId>& ids, TokenId id) {
  if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
}

void add_generation_eos(const Json& generation, const fs::path& path, std::vector<TokenId>& ids) {
  auto found = generation.find("eos_token_id");
  if (found == generation.end() || found->is_null()) return;
  auto add_one = [&](const Json& value) {
    if (!value.is_number_integer() || value.get<long long>() < 0)
      throw_input_error(path.string(), 0, "\"eos_token_id\" must be an id or a list of ids");
    add_unique(ids, value.get<TokenId>());
  };
  if (found->is_array()) {
    for (const Json& value : *found) add_one(value);
  } else {
    add_one(*found);
  }
}

// A special token's text: a string or {"content": ...}; empty when unset.
std::string token_text(const Json& config, const char* key, const fs::path& path) {
  auto found = config.find(key);
  if (found == config.end() || found->is_null()) return "";
  if (found->is_string()) return found->get<std::string>();
  if (found->is_object() && found->contains("content") && (*found)["content"].is_string())
    return (*found)["content"].get<std::string>();
  throw_input_error(path.string(), 0,
                    std::string("\"") + key + "\" must be a string or {\"content\": ...}");
}

void add_im_end_eos(ChatTemplate& chat, const std::string& source, const Tokenizer& tokenizer) {
  if (source.find(kImEnd) == std::string::npos) return;
  if (auto im_end = tokenizer.token_to_id(kImEnd)) add_unique(chat.eos_ids, *im_end);
}

std::shared_ptr<const jinja::Template> compile(const std::string& source, const std::string& name) {
  return std::make_shared<const jinja::Template>(jinja::Template::parse(source, name));
}

}  // namespace

ChatFormat parse_chat_format(const std::string& name, const std::string& source) {
  if (name == "chatml") return ChatFormat::chatml;
  if (name == "raw") return ChatFormat::raw;
  throw_input_error(source, 0, "unknown chat format \"" + name + "\" (expected chatml or raw)");
}

const char* chat_format_name(ChatFormat format) {
  return format == ChatFormat::chatml ? "chatml" : "raw";
}

const std::string& chatml_template_source() {
  static const std::string source =
      "{% for message in messages %}"
      "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
      "{% endfor %}"
      "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
  return source;
}

ChatTemplate load_chat_template(const std::string& model_path, const Tokenizer& tokenizer,
                                const std::string& choice) {
  std::error_code error;
  fs::path folder = fs::is_directory(model_path, error) ? fs::path(model_path)
                                                        : fs::path(model_path).parent_path();
  if (folder.empty()) folder = ".";
  ChatTemplate chat;

  std::string source, source_name;
  bool named = false;  // `choice` names an entry of the config's template list
  Json config;
  const fs::path config_path = folder / "tokenizer_config.json";
  if (fs::exists(config_path, error)) {
    config = read_json(config_path);
    if (!config.is_object()) throw_input_error(config_path.string(), 0, "expected a JSON object");
    if (config_template(config, config_path, "", source))
      source_name = config_path.string() + " (chat_template)";
    if (!choice.empty() && config_template(config, config_path, choice, source)) {
      source_name = config_path.string() + " (chat_template \"" + choice + "\")";
      named = true;
    }
    for (const char* key : kSpecialTokenKeys) {
      std::string text = token_text(config, key, config_path);
      if (!text.empty()) chat.special_tokens.emplace_back(key, text);
    }
  }
  const fs::path jinja_path = folder / "chat_template.jinja";
  if (!named && fs::exists(jinja_path, error)) {
    source = io::read_file(jinja_path.string());
    source_name = jinja_path.string();
  }
  if (!choice.empty() && !named) {
    if (!fs::is_regular_file(choice, error))
      throw InputError("chat template \"" + choice +
                       "\": no such file, nor a template of that name in " + config_path.string());
    source = io::read_file(choice);
    source_name = choice;
  }
  if (!source_name.empty()) {
    chat.jinja = compile(source, source_name);
    add_im_end_eos(chat, source, tokenizer);
  }

  std::vector<TokenId> template_eos = chat.eos_ids;
  chat.eos_ids.clear();
  const fs::path generation_path = folder / "generation_config.json";
  if (fs::exists(generation_path, error)) {
    Json generation = read_json(generation_path);
    if (!generation.is_object())
      throw_input_error(generation_path.string(), 0, "expected a JSON object");
    add_generation_eos(generation, generation_path, chat.eos_ids);
  }
  if (config.is_object()) {
    const std::string eos = token_text(config, "eos_token", config_path);
    if (!eos.empty()) {
      auto id = tokenizer.token_to_id(eos);
      if (!id)
        throw_input_error(config_path.string(), 0,
                          "eos_token \"" + eos + "\" is not in the tokenizer's vocabulary");
      add_unique(chat.eos_ids, *id);
    }
  }
  for (TokenId id : template_eos) add_unique(chat.eos_ids, id);
  return chat;
}

ChatTemplate with_format(ChatTemplate chat, ChatFormat format, const Tokenizer& tokenizer) {
  if (format == ChatFormat::raw) {
    chat.jinja.reset();
    return chat;
  }
  static const std::shared_ptr<const jinja::Template> chatml =
      compile(chatml_template_source(), "the built-in ChatML template");
  chat.jinja = chatml;
  add_im_end_eos(chat, chatml_template_source(), tokenizer);
  return chat;
}

nlohmann::json messages_json(const std::vector<Message>& messages) {
  Json array = Json::array();
  for (const Message& message : messages)
    array.push_back(Json{{"role", message.role}, {"content", message.content}});
  return array;
}

std::string render_chat(const ChatTemplate& chat, const nlohmann::json& messages,
                        bool add_generation_prompt, const nlohmann::json& kwargs) {
  if (!chat.jinja) {
    std::string text;
    for (const Json& message : messages)
      if (message.is_object() && message.contains("content") && message["content"].is_string())
        text += message["content"].get<std::string>();
    return text;
  }
  jinja::Dict variables;
  for (const auto& [key, value] : chat.special_tokens) variables.set(key, jinja::Value(value));
  variables.set("messages", jinja::Value::from_json(messages));
  variables.set("tools", jinja::Value::none());
  variables.set("documents", jinja::Value::none());
  variables.set("add_generation_prompt", jinja::Value(add_generation_prompt));
  if (kwargs.is_object())
    for (const auto& [key, value] : kwargs.items())
      variables.set(key, jinja::Value::from_json(value));
  return chat.jinja->render(variables);
}

std::string render_chat(const ChatTemplate& chat, const std::vector<Message>& messages,
                        bool add_generation_prompt, const nlohmann::json& kwargs) {
  return render_chat(chat, messages_json(messages), add_generation_prompt, kwargs);
}

std::vector<TokenId> render_chat_ids(const ChatTemplate& chat, const Tokenizer& tokenizer,
                                     const std::vector<Message>& messages,
                                     bool add_generation_prompt, const nlohmann::json& kwargs) {
  return tokenizer.encode(render_chat(chat, messages, add_generation_prompt, kwargs));
}

}  // namespace empo::text
