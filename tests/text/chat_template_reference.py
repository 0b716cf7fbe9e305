"""Hugging Face's side of the chat template tests: renders conversations with a chat template
the way transformers' apply_chat_template does, so the C++ tests compare empo's prompt with it.

  chat_template_reference.py CASES.json OUT.json

CASES.json is a list of {"template": FILE, "messages": [...], "add_generation_prompt": bool,
"variables": {...}} (variables: special tokens such as bos_token and extra keyword arguments such
as enable_thinking). OUT.json gets one {"text": ...} or {"error": ...} per case, and
"renderer" names what rendered them.

With transformers importable, its own render_jinja_template renders (the code behind
apply_chat_template); else jinja2 with the settings transformers uses (ImmutableSandboxedEnvironment
with trim_blocks and lstrip_blocks, loopcontrols, its tojson, raise_exception, strftime_now and
namespace). Either way strftime_now formats 26 July 2024, the fixed date empo documents, instead of
today. Exits 77 when neither can be imported, so the calling test can skip."""
import datetime as real_datetime
import json
import sys

FIXED_NOW = real_datetime.datetime(2024, 7, 26)


class FixedDatetime(real_datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return FIXED_NOW


def transformers_renderer():
    from transformers.utils import chat_template_utils

    chat_template_utils.datetime = FixedDatetime

    def render(template, messages, add_generation_prompt, variables):
        rendered, _ = chat_template_utils.render_jinja_template(
            conversations=[messages],
            chat_template=template,
            add_generation_prompt=add_generation_prompt,
            **variables,
        )
        return rendered[0]

    return render, "transformers"


def jinja2_renderer():
    import jinja2
    from jinja2.ext import Extension, loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Generation(Extension):
        tags = {"generation"}

        def parse(self, parser):
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
            return jinja2.nodes.CallBlock(self.call_method("_body"), [], [], body).set_lineno(lineno)

        def _body(self, caller):
            return caller()

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    environment = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                                extensions=[Generation, loopcontrols])
    environment.filters["tojson"] = tojson
    environment.globals["raise_exception"] = raise_exception
    environment.globals["strftime_now"] = lambda format: FIXED_NOW.strftime(format)

    def render(template, messages, add_generation_prompt, variables):
        return environment.from_string(template).render(
            messages=messages, tools=None, documents=None,
            add_generation_prompt=add_generation_prompt, **variables)

    return render, "jinja2"


def main():
    cases_path, out_path = sys.argv[1:3]
    try:
        render, renderer = transformers_renderer()
    except ImportError:
        try:
            render, renderer = jinja2_renderer()
        except ImportError as error:
            print(f"neither transformers nor jinja2 is importable: {error}", file=sys.stderr)
            sys.exit(77)
    results = []
    for case in json.load(open(cases_path, encoding="utf-8")):
        template = open(case["template"], encoding="utf-8").read()
        try:
            text = render(template, case["messages"], case.get("add_generation_prompt", False),
                          case.get("variables", {}))
            results.append({"text": text})
        except Exception as error:  # a template's raise_exception, or any other failure
            results.append({"error": f"{type(error).__name__}: {error}"})
    json.dump({"renderer": renderer, "results": results}, open(out_path, "w", encoding="utf-8"),
              ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
