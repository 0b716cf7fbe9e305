#include "empo/text/chat_template.h"

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "empo/io/error.h"
#include "empo/io/jsonl.h"

namespace empo::text {

namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kImStart = "<|im_start|>";
constexpr const char* kImEnd = "<|im_end|>";

Json read_json(const fs::path& path) {
  return io::parse_json(io::read_file(path.string()), path.string());
}

// The template text of tokenizer_config.json's "chat_template", "" when absent.
std::string config_template(const Json& config, const fs::path& path) {
  auto found = config.find("chat_template");
  if (found == config.end() || found->is_null()) return "";
  if (found->is_string()) return found->get<std::string>();
  if (found->is_array()) {
    // Several named templates: the "default" one serves plain chat.
    for (const Json& entry : *found) {
      if (entry.is_object() && entry.value("name", std::string()) == "default" &&
          entry.contains("template") && entry["template"].is_string())
        return entry["template"].get<std::string>();
    }
    return "";
  }
  throw_input_error(path.string(), 0, "\"chat_template\" must be a string or a list");
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

void add_config_eos(const Json& config, const fs::path& path, const Tokenizer& tokenizer,
                    std::vector<TokenId>& ids) {
  auto found = config.find("eos_token");
  if (found == config.end() || found->is_null()) return;
  std::string content;
  if (found->is_string()) {
    content = found->get<std::string>();
  } else if (found->is_object() && found->contains("content") && (*found)["content"].is_string()) {
    content = (*found)["content"].get<std::string>();
  } else {
    throw_input_error(path.string(), 0, "\"eos_token\" must be a string or {\"content\": ...}");
  }
  auto id = tokenizer.token_to_id(content);
  if (!id) {
    throw_input_error(path.string(), 0,
                      "eos_token \"" + content + "\" is not in the tokenizer's vocabulary");
  }
  add_unique(ids, *id);
}

// Undoes a Jinja string literal's escapes (\n, \t, \\, \', \").
std::string unescape_jinja(const std::string& literal) {
  std::string out;
  for (std::size_t i = 0; i < literal.size(); ++i) {
    if (literal[i] != '\\' || i + 1 == literal.size()) {
      out += literal[i];
      continue;
    }
    char escaped = literal[++i];
    switch (escaped) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      default:
        out += escaped;  // \\, \', \" and anything else: the character itself
        break;
    }
  }
  return out;
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

std::string template_default_system_prompt(const std::string& jinja_template) {
  // A string literal that opens a system turn and closes it within the same literal, e.g.
  //   '<|im_start|>system\nYou are Qwen, ...<|im_end|>\n'
  // whereas '<|im_start|>system\n' + messages[0].content ... only frames the user's own.
  const std::string opening = std::string(kImStart) + "system\\n";
  std::size_t search = 0;
  std::size_t found;
  while ((found = jinja_template.find(opening, search)) != std::string::npos) {
    search = found + opening.size();
    if (found == 0) continue;
    char quote = jinja_template[found - 1];
    if (quote != '\'' && quote != '"') continue;
    std::size_t start = found + opening.size();
    std::size_t end = start;
    while (end < jinja_template.size() && jinja_template[end] != quote)
      end += jinja_template[end] == '\\' ? 2 : 1;
    if (end >= jinja_template.size()) break;
    std::string literal = jinja_template.substr(start, end - start);
    std::size_t close = literal.find(kImEnd);
    if (close != std::string::npos && close > 0) return unescape_jinja(literal.substr(0, close));
  }
  return "";
}

ChatTemplate load_chat_template(const std::string& model_path, const Tokenizer& tokenizer) {
  std::error_code error;
  fs::path folder = fs::is_directory(model_path, error) ? fs::path(model_path)
                                                        : fs::path(model_path).parent_path();
  if (folder.empty()) folder = ".";
  ChatTemplate chat;
  chat.format = ChatFormat::raw;

  std::string jinja;
  Json config;
  fs::path config_path = folder / "tokenizer_config.json";
  if (fs::exists(config_path, error)) {
    config = read_json(config_path);
    if (!config.is_object()) throw_input_error(config_path.string(), 0, "expected a JSON object");
    jinja = config_template(config, config_path);
  }
  fs::path jinja_path = folder / "chat_template.jinja";
  if (fs::exists(jinja_path, error)) jinja = io::read_file(jinja_path.string());
  if (jinja.find(kImStart) != std::string::npos) {
    chat.format = ChatFormat::chatml;
    chat.default_system_prompt = template_default_system_prompt(jinja);
  }

  fs::path generation_path = folder / "generation_config.json";
  if (fs::exists(generation_path, error)) {
    Json generation = read_json(generation_path);
    if (!generation.is_object())
      throw_input_error(generation_path.string(), 0, "expected a JSON object");
    add_generation_eos(generation, generation_path, chat.eos_ids);
  }
  if (config.is_object()) add_config_eos(config, config_path, tokenizer, chat.eos_ids);
  if (chat.format == ChatFormat::chatml) {
    if (auto im_end = tokenizer.token_to_id(kImEnd)) add_unique(chat.eos_ids, *im_end);
  }
  return chat;
}

std::string render_chat(const ChatTemplate& chat, const std::vector<Message>& messages,
                        bool add_generation_prompt) {
  std::string text;
  if (chat.format == ChatFormat::raw) {
    for (const Message& message : messages) text += message.content;
    return text;
  }
  auto turn = [&](const std::string& role, const std::string& content) {
    text += kImStart;
    text += role;
    text += '\n';
    text += content;
    text += kImEnd;
    text += '\n';
  };
  bool has_system = std::any_of(messages.begin(), messages.end(),
                                [](const Message& message) { return message.role == "system"; });
  if (!has_system && !chat.default_system_prompt.empty())
    turn("system", chat.default_system_prompt);
  for (const Message& message : messages) turn(message.role, message.content);
  if (add_generation_prompt) {
    text += kImStart;
    text += "assistant\n";
  }
  return text;
}

std::vector<TokenId> render_chat_ids(const ChatTemplate& chat, const Tokenizer& tokenizer,
                                     const std::vector<Message>& messages,
                                     bool add_generation_prompt) {
  return tokenizer.encode(render_chat(chat, messages, add_generation_prompt));
}

}  // namespace empo::text
