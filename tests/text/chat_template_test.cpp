#include "empo/text/chat_template.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "empo/io/error.h"
#include "test_support.h"

namespace empo::text {
namespace {

using Json = nlohmann::json;
using Ids = std::vector<TokenId>;

const Tokenizer& qwen() {
  static const Tokenizer tokenizer = Tokenizer::load(test::fixture("qwen-tokenizer"));
  return tokenizer;
}

// Qwen2.5-Instruct's template, abridged to the part that matters here: a hard-coded system
// turn for conversations without one.
const char* kQwen25Template =
    "{%- if messages[0]['role'] == 'system' %}\n"
    "    {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n"
    "{%- else %}\n"
    "    {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
    "assistant.<|im_end|>\\n' }}\n"
    "{%- endif %}\n";

std::string model_folder(const Json& tokenizer_config, const Json& generation_config) {
  std::string folder = test::temp_dir("chat_model");
  if (!tokenizer_config.is_null())
    test::write_text(folder + "/tokenizer_config.json", tokenizer_config.dump());
  if (!generation_config.is_null())
    test::write_text(folder + "/generation_config.json", generation_config.dump());
  return folder;
}

TEST(ChatTemplate, ChatmlFormatsSystemUserAndAssistantTurns) {
  ChatTemplate chat;
  std::vector<Message> messages = {
      {"system", "Be brief."}, {"user", "What is 2+2?"}, {"assistant", "4"}, {"user", "And 3+3?"}};
  EXPECT_EQ(render_chat(chat, messages, true),
            "<|im_start|>system\nBe brief.<|im_end|>\n"
            "<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
            "<|im_start|>assistant\n4<|im_end|>\n"
            "<|im_start|>user\nAnd 3+3?<|im_end|>\n"
            "<|im_start|>assistant\n");
  EXPECT_EQ(render_chat(chat, {{"user", "hi"}}, false), "<|im_start|>user\nhi<|im_end|>\n");
}

TEST(ChatTemplate, DefaultSystemPromptOnlyWithoutASystemTurn) {
  ChatTemplate chat;
  chat.default_system_prompt = "Reason step by step.";
  EXPECT_EQ(render_chat(chat, {{"user", "1+1?"}}, true),
            "<|im_start|>system\nReason step by step.<|im_end|>\n"
            "<|im_start|>user\n1+1?<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(render_chat(chat, {{"system", "Mine."}, {"user", "1+1?"}}, false),
            "<|im_start|>system\nMine.<|im_end|>\n<|im_start|>user\n1+1?<|im_end|>\n");
}

TEST(ChatTemplate, RawConcatenatesContentsWithoutTemplate) {
  ChatTemplate chat;
  chat.format = ChatFormat::raw;
  chat.default_system_prompt = "ignored in raw";
  EXPECT_EQ(render_chat(chat, {{"user", "Question: 2+2?\n"}, {"assistant", "Answer:"}}, true),
            "Question: 2+2?\nAnswer:");
}

TEST(ChatTemplate, IdsUseTheSpecialTokens) {
  ChatTemplate chat;
  // The same text as a line of qwen-tokenizer-goldens.jsonl, with Hugging Face's ids.
  EXPECT_EQ(
      render_chat_ids(chat, qwen(), {{"user", "What is 2+2?"}}, true),
      (Ids{151644, 872, 198, 3838, 374, 220, 17, 10, 17, 30, 151645, 198, 151644, 77091, 198}));
}

TEST(ChatTemplate, LoadsQwen3Settings) {
  ChatTemplate chat = load_chat_template(test::fixture("qwen-tokenizer"), qwen());
  EXPECT_EQ(chat.format, ChatFormat::chatml);
  EXPECT_EQ(chat.default_system_prompt, "");  // Qwen3's template adds no system turn
  EXPECT_EQ(chat.eos_ids, (Ids{151645}));
  // A tokenizer.json path finds the files beside it.
  ChatTemplate same = load_chat_template(test::fixture("qwen-tokenizer/tokenizer.json"), qwen());
  EXPECT_EQ(same.eos_ids, chat.eos_ids);
}

TEST(ChatTemplate, LoadsQwen25DefaultSystemPromptAndGenerationEos) {
  std::string folder =
      model_folder(Json{{"chat_template", kQwen25Template}, {"eos_token", "<|im_end|>"}},
                   Json{{"eos_token_id", {151645, 151643}}});
  ChatTemplate chat = load_chat_template(folder, qwen());
  EXPECT_EQ(chat.format, ChatFormat::chatml);
  EXPECT_EQ(chat.default_system_prompt,
            "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.");
  EXPECT_EQ(chat.eos_ids, (Ids{151645, 151643}));
}

TEST(ChatTemplate, ExtractsEscapedDefaultPromptsAndTemplateLists) {
  // Qwen2.5-Math-Instruct's default prompt has an escaped backslash.
  std::string math =
      "{{- '<|im_start|>system\\nPlease reason step by step, and put your final answer within "
      "\\\\boxed{}.<|im_end|>\\n' }}";
  EXPECT_EQ(template_default_system_prompt(math),
            "Please reason step by step, and put your final answer within \\boxed{}.");
  EXPECT_EQ(template_default_system_prompt("{{ '<|im_start|>system\\n' + content }}"), "");

  Json templates = Json::array(
      {{{"name", "tool_use"}, {"template", "tools"}}, {{"name", "default"}, {"template", math}}});
  std::string folder =
      model_folder(Json{{"chat_template", templates}}, Json{{"eos_token_id", 151643}});
  ChatTemplate chat = load_chat_template(folder, qwen());
  EXPECT_EQ(chat.format, ChatFormat::chatml);
  EXPECT_EQ(chat.default_system_prompt.substr(0, 17), "Please reason ste");
  EXPECT_EQ(chat.eos_ids, (Ids{151643, 151645}));  // <|im_end|> always ends a chatml turn
}

TEST(ChatTemplate, JinjaFileAndMissingFiles) {
  std::string folder = model_folder(Json{{"eos_token", {{"content", "<|endoftext|>"}}}}, Json());
  ChatTemplate raw = load_chat_template(folder, qwen());
  EXPECT_EQ(raw.format, ChatFormat::raw);  // no template at all
  EXPECT_EQ(raw.eos_ids, (Ids{151643}));
  test::write_text(folder + "/chat_template.jinja", kQwen25Template);
  EXPECT_EQ(load_chat_template(folder, qwen()).format, ChatFormat::chatml);

  ChatTemplate bare = load_chat_template(test::temp_dir("bare_model"), qwen());
  EXPECT_EQ(bare.format, ChatFormat::raw);
  EXPECT_TRUE(bare.eos_ids.empty());
}

TEST(ChatTemplate, BadFilesAreInputErrorsNamingTheFile) {
  std::string folder = test::temp_dir("bad_model");
  test::write_text(folder + "/tokenizer_config.json", "{\"chat_template\": ");
  try {
    load_chat_template(folder, qwen());
    FAIL() << "expected InputError";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("tokenizer_config.json"), std::string::npos);
  }
  std::string unknown_eos = model_folder(Json{{"eos_token", "<|nope|>"}}, Json());
  EXPECT_THROW(load_chat_template(unknown_eos, qwen()), InputError);
  std::string bad_generation = model_folder(Json(), Json{{"eos_token_id", "two"}});
  EXPECT_THROW(load_chat_template(bad_generation, qwen()), InputError);
}

TEST(ChatTemplate, FormatNames) {
  EXPECT_EQ(parse_chat_format("chatml", "flag"), ChatFormat::chatml);
  EXPECT_EQ(parse_chat_format("raw", "flag"), ChatFormat::raw);
  EXPECT_STREQ(chat_format_name(ChatFormat::raw), "raw");
  try {
    parse_chat_format("llama3", "config.yaml");
    FAIL() << "expected InputError";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("config.yaml"), std::string::npos);
  }
}

}  // namespace
}  // namespace empo::text
