#pragma once
// A Jinja2 chat template, parsed once and rendered per conversation, as transformers'
// apply_chat_template renders it: an ImmutableSandboxedEnvironment with trim_blocks and
// lstrip_blocks, the loopcontrols extension (break, continue), transformers' {% generation %}
// block (rendered as its body), its tojson, raise_exception, strftime_now (here
// deterministic, see jinja_builtins.h), namespace and dict globals.
//
// Scoping follows Jinja2: a for loop's body (and a macro's) has its own variables, so a
// {% set %} inside a loop is gone after it, which is why templates carry state in namespace().
//
// Any failure, at parse or render time, is an InputError "FILE:LINE: what", FILE being the
// name given to parse() (the template's file, or tokenizer_config.json).
#include <memory>
#include <string>

#include "empo/text/jinja_ast.h"
#include "empo/text/jinja_value.h"

namespace empo::text::jinja {

class Template {
 public:
  // Throws InputError naming `name` and the line for a template that does not parse.
  static Template parse(const std::string& source, const std::string& name);

  // Renders with `variables` (messages, add_generation_prompt, bos_token, extra keyword
  // arguments such as enable_thinking) on top of the globals.
  std::string render(const Dict& variables) const;

  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::shared_ptr<const Body> body_;
};

}  // namespace empo::text::jinja
