#include "empo/text/chat_template.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "empo/io/error.h"
#include "test_support.h"

namespace empo::text {
namespace {
using Messages = std::vector<Message>;

using Json = nlohmann::json;
using Ids = std::vector<TokenId>;

const Tokenizer& qwen() {
  static const Tokenizer tokenizer = Tokenizer::load(test::fixture("qwen-tokenizer"));
  return tokenizer;
}

std::string template_fixture(const std::string& file) {
  return test::fixture("text/chat_templates/" + file);
}

std::string model_folder(const Json& tokenizer_config, const Json& generation_config) {
  std::string folder = test::temp_dir("chat_model");
  if (!tokenizer_config.is_null())
    test::write_text(folder + "/tokenizer_config.json", tokenizer_config.dump());
  if (!generation_config.is_null())
    test::write_text(folder + "/generation_config.json", generation_config.dump());
  return folder;
}

// ------------------------------------------------------------------------ real families
// Every (template, conversation, generation prompt, variables) of
// fixtures/text/chat_templates/cases.json, named "family/conversation/gen|nogen/variant".
struct FamilyCase {
  std::string id;
  std::string file;
  Json messages;
  bool add_generation_prompt;
  Json variables;  // special tokens and extra keyword arguments
};

std::vector<FamilyCase> family_cases() {
  const Json cases = Json::parse(test::read_text(template_fixture("cases.json")));
  std::vector<FamilyCase> expanded;
  for (const Json& family : cases["templates"]) {
    std::vector<std::string> conversations = cases["default_conversations"];
    for (const Json& extra : family.value("extra_conversations", Json::array()))
      conversations.push_back(extra);
    const Json variants = family.value("variants", Json::array({Json::object()}));
    const std::string file = family["file"];
    const std::string stem = file.substr(0, file.size() - std::string(".jinja").size());
    for (const std::string& conversation : conversations)
      for (bool generation : {true, false})
        for (const Json& variant : variants) {
          Json variables = family["variables"];
          for (const auto& [key, value] : variant.items()) variables[key] = value;
          expanded.push_back({stem + "/" + conversation + "/" + (generation ? "gen" : "nogen") +
                                  "/" + variant.dump(),
                              file, cases["conversations"][conversation], generation, variables});
        }
  }
  return expanded;
}

// empo's rendering of a case: {"text": ...} or {"error": ...}.
Json render_case(const FamilyCase& item) {
  const std::string path = template_fixture(item.file);
  ChatTemplate chat;
  chat.jinja =
      std::make_shared<const jinja::Template>(jinja::Template::parse(test::read_text(path), path));
  try {
    return Json{
        {"text", render_chat(chat, item.messages, item.add_generation_prompt, item.variables)}};
  } catch (const InputError& error) {
    return Json{{"error", error.what()}};
  }
}

void expect_same(const FamilyCase& item, const Json& ours, const Json& reference,
                 const std::string& reference_name) {
  if (reference.contains("error")) {
    EXPECT_TRUE(ours.contains("error"))
        << item.id << ": " << reference_name << " raised " << reference["error"]
        << " but empo rendered " << ours.dump();
  } else {
    ASSERT_TRUE(ours.contains("text")) << item.id << ": " << ours["error"];
    EXPECT_EQ(ours["text"].get<std::string>(), reference["text"].get<std::string>())
        << item.id << " differs from " << reference_name;
  }
}

TEST(ChatTemplateFamilies, RenderAsTheCommittedGoldens) {
  const Json goldens = Json::parse(test::read_text(template_fixture("goldens.json")));
  const auto cases = family_cases();
  ASSERT_GE(cases.size(), 90u);
  for (const auto& item : cases) {
    ASSERT_TRUE(goldens["cases"].contains(item.id)) << "no golden for " << item.id;
    expect_same(item, render_case(item), goldens["cases"][item.id], "the golden");
  }
}

// The same cases rendered now by transformers (or jinja2 with its settings), where Python has
// them; the goldens are what this wrote (build folder/chat_template_goldens.json).
TEST(ChatTemplateFamilies, RenderAsTransformersDoes) {
  const auto cases = family_cases();
  Json requests = Json::array();
  for (const auto& item : cases)
    requests.push_back(Json{{"template", template_fixture(item.file)},
                            {"messages", item.messages},
                            {"add_generation_prompt", item.add_generation_prompt},
                            {"variables", item.variables}});
  const std::string dir = test::temp_dir("chat_template_reference");
  test::write_text(dir + "/cases.json", requests.dump());
  auto run =
      test::run_shell("python3 " + test::source_path("tests/text/chat_template_reference.py") +
                      " " + dir + "/cases.json " + dir + "/out.json 2>&1");
  if (run.exit_code == 77 || run.exit_code == 127)
    GTEST_SKIP() << "neither transformers nor jinja2 is importable: " << run.output;
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const Json out = Json::parse(test::read_text(dir + "/out.json"));
  ASSERT_EQ(out["results"].size(), cases.size());
  Json goldens{{"renderer", out["renderer"]}, {"cases", Json::object()}};
  for (size_t i = 0; i < cases.size(); ++i) {
    Json reference = out["results"][i];
    expect_same(cases[i], render_case(cases[i]), reference, out["renderer"].get<std::string>());
    goldens["cases"][cases[i].id] = reference;
  }
  std::ofstream(test::build_dir() + "/chat_template_goldens.json") << goldens.dump(1) << "\n";
}

// ------------------------------------------------------------------------ formats
TEST(ChatTemplate, ChatmlFormatsSystemUserAndAssistantTurns) {
  const ChatTemplate chat = with_format(ChatTemplate{}, ChatFormat::chatml, qwen());
  std::vector<Message> messages = {
      {"system", "Be brief."}, {"user", "What is 2+2?"}, {"assistant", "4"}, {"user", "And 3+3?"}};
  EXPECT_EQ(render_chat(chat, messages, true),
            "<|im_start|>system\nBe brief.<|im_end|>\n"
            "<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
            "<|im_start|>assistant\n4<|im_end|>\n"
            "<|im_start|>user\nAnd 3+3?<|im_end|>\n"
            "<|im_start|>assistant\n");
  EXPECT_EQ(render_chat(chat, Messages{{"user", "hi"}}, false), "<|im_start|>user\nhi<|im_end|>\n");
  EXPECT_EQ(chat.eos_ids, (Ids{151645}));  // <|im_end|> closes every ChatML turn
}

TEST(ChatTemplate, RawConcatenatesContentsWithoutTemplate) {
  ChatTemplate chat = with_format(load_chat_template(test::fixture("qwen-tokenizer"), qwen()),
                                  ChatFormat::raw, qwen());
  EXPECT_EQ(
      render_chat(chat, Messages{{"user", "Question: 2+2?\n"}, {"assistant", "Answer:"}}, true),
      "Question: 2+2?\nAnswer:");
}

TEST(ChatTemplate, IdsUseTheSpecialTokens) {
  const ChatTemplate chat = with_format(ChatTemplate{}, ChatFormat::chatml, qwen());
  // The same text as a line of qwen-tokenizer-goldens.jsonl, with Hugging Face's ids.
  EXPECT_EQ(
      render_chat_ids(chat, qwen(), {{"user", "What is 2+2?"}}, true),
      (Ids{151644, 872, 198, 3838, 374, 220, 17, 10, 17, 30, 151645, 198, 151644, 77091, 198}));
}

// ------------------------------------------------------------------------ loading
TEST(ChatTemplate, LoadsQwen3SettingsAndRendersItsThinkingSwitch) {
  ChatTemplate chat = load_chat_template(test::fixture("qwen-tokenizer"), qwen());
  ASSERT_TRUE(chat.jinja);
  EXPECT_EQ(chat.eos_ids, (Ids{151645}));
  EXPECT_EQ(render_chat(chat, Messages{{"user", "1+1?"}}, true, Json{{"enable_thinking", false}}),
            "<|im_start|>user\n1+1?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
  // A tokenizer.json path finds the files beside it.
  ChatTemplate same = load_chat_template(test::fixture("qwen-tokenizer/tokenizer.json"), qwen());
  EXPECT_EQ(same.eos_ids, chat.eos_ids);
}

// The bug this renderer replaced: a default system prompt inside a Jinja string with a real
// newline (SmolLM2's template, as tokenizer_config.json stores it) was missed.
TEST(ChatTemplate, TheTemplateRendersItsOwnDefaultSystemPrompt) {
  const std::string smollm2 = test::read_text(template_fixture("smollm2-instruct.jinja"));
  std::string folder = model_folder(Json{{"chat_template", smollm2}, {"eos_token", "<|im_end|>"}},
                                    Json{{"eos_token_id", {151645, 151643}}});
  ChatTemplate chat = load_chat_template(folder, qwen());
  EXPECT_EQ(render_chat(chat, Messages{{"user", "1+1?"}}, true),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
            "Face<|im_end|>\n<|im_start|>user\n1+1?<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(chat.eos_ids, (Ids{151645, 151643}));
}

TEST(ChatTemplate, NamedTemplatesAndTheJinjaFileWins) {
  Json templates = Json::array({{{"name", "tool_use"}, {"template", "TOOLS{{ messages|length }}"}},
                                {{"name", "default"}, {"template", "DEFAULT"}}});
  std::string folder =
      model_folder(Json{{"chat_template", templates}}, Json{{"eos_token_id", 151643}});
  EXPECT_EQ(render_chat(load_chat_template(folder, qwen()), Messages{{"user", "x"}}, true),
            "DEFAULT");
  EXPECT_EQ(
      render_chat(load_chat_template(folder, qwen(), "tool_use"), Messages{{"user", "x"}}, true),
      "TOOLS1");
  test::write_text(folder + "/chat_template.jinja", "JINJA FILE");
  EXPECT_EQ(render_chat(load_chat_template(folder, qwen()), Messages{{"user", "x"}}, true),
            "JINJA FILE");
  // A template file given by path (--chat-template) wins over both.
  test::write_text(folder + "/mine.jinja", "{{ bos_token }}MINE{{ messages[0].content }}");
  EXPECT_EQ(render_chat(load_chat_template(folder, qwen(), folder + "/mine.jinja"),
                        Messages{{"user", "x"}}, true),
            "MINEx");
  EXPECT_THROW(load_chat_template(folder, qwen(), "no-such-template"), InputError);
}

TEST(ChatTemplate, MissingFilesMeanRaw) {
  std::string folder = model_folder(Json{{"eos_token", {{"content", "<|endoftext|>"}}}}, Json());
  ChatTemplate raw = load_chat_template(folder, qwen());
  EXPECT_FALSE(raw.jinja);  // no template at all
  EXPECT_EQ(raw.eos_ids, (Ids{151643}));
  ChatTemplate bare = load_chat_template(test::temp_dir("bare_model"), qwen());
  EXPECT_FALSE(bare.jinja);
  EXPECT_TRUE(bare.eos_ids.empty());
}

TEST(ChatTemplate, BadFilesAreInputErrorsNamingTheFileAndLine) {
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

  std::string unknown = test::temp_dir("unknown_construct");
  test::write_text(unknown + "/chat_template.jinja", "line one\n{% include 'x' %}\n");
  try {
    load_chat_template(unknown, qwen());
    FAIL() << "expected InputError";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("chat_template.jinja:2:"), std::string::npos)
        << error.what();
  }
  // raise_exception names the template line it was raised at.
  const std::string gemma = template_fixture("gemma-2-it.jinja");
  test::write_text(unknown + "/chat_template.jinja", test::read_text(gemma));
  try {
    render_chat(load_chat_template(unknown, qwen()), Messages{{"system", "s"}, {"user", "u"}},
                true);
    FAIL() << "expected InputError";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("System role not supported"), std::string::npos);
    EXPECT_NE(std::string(error.what()).find("chat_template.jinja:1:"), std::string::npos);
  }
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
