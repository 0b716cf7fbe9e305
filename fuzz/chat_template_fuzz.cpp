// A chat template on arbitrary text: Template::parse must refuse what it cannot render with
// InputError (file and line), never another exception; a template that parses must render a few
// conversations without fault (again only InputError, e.g. its own raise_exception), and render
// the same text twice.
#include "empo/io/error.h"
#include "empo/text/jinja_template.h"
#include "fuzz_support.h"

namespace {

using empo::text::jinja::Dict;
using empo::text::jinja::Value;

Dict variables(const char* messages, bool add_generation_prompt) {
  Dict context;
  context.set("messages", Value::from_json(nlohmann::json::parse(messages)));
  context.set("add_generation_prompt", Value(add_generation_prompt));
  context.set("bos_token", Value("<s>"));
  context.set("eos_token", Value("</s>"));
  context.set("tools", Value::none());
  context.set("enable_thinking", Value(false));
  return context;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string source(empo::fuzz::as_text(data, size));
  std::optional<empo::text::jinja::Template> parsed;
  try {
    parsed = empo::text::jinja::Template::parse(source, "chat_template.jinja");
  } catch (const empo::InputError&) {
    return 0;
  }
  const char* conversations[] = {
      R"([{"role": "user", "content": "What is 2+2?"}])",
      R"([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
          {"role": "assistant", "content": "<think>\nx\n</think>\n\nHello"},
          {"role": "user", "content": " again "}])",
      "[]"};
  for (const char* messages : conversations)
    for (bool generation : {true, false}) {
      try {
        const std::string first = parsed->render(variables(messages, generation));
        const std::string second = parsed->render(variables(messages, generation));
        EMPO_FUZZ_CHECK(first == second, "the same render gave two different prompts");
      } catch (const empo::InputError&) {
      }
    }
  return 0;
}
