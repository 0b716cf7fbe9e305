"""transformers' side of `empo generate`'s chat template test: the prompt ids
apply_chat_template(tokenize=True, add_generation_prompt=True) gives for each line of a
{"messages"} JSONL file, with the model folder's own tokenizer and chat template.

  chat_prompt_reference.py MODEL_FOLDER MESSAGES.jsonl OUT.json [TEMPLATE_FILE [KWARGS_JSON]]

TEMPLATE_FILE (or "-") replaces the folder's template, KWARGS_JSON adds template variables.
strftime_now formats 26 July 2024, the fixed date empo documents. Exits 77 when transformers
cannot be imported, so the calling test can skip."""
import datetime
import json
import sys

try:
    from transformers import AutoTokenizer
    from transformers.utils import chat_template_utils
except ImportError as error:
    print(f"transformers is not importable: {error}", file=sys.stderr)
    sys.exit(77)


class FixedDatetime(datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return datetime.datetime(2024, 7, 26)


chat_template_utils.datetime = FixedDatetime
folder, messages_path, out_path = sys.argv[1:4]
template = None
if len(sys.argv) > 4 and sys.argv[4] != "-":
    template = open(sys.argv[4], encoding="utf-8").read()
kwargs = json.loads(sys.argv[5]) if len(sys.argv) > 5 else {}
tokenizer = AutoTokenizer.from_pretrained(folder)
prompts = []
for line in open(messages_path, encoding="utf-8"):
    if not line.strip():
        continue
    messages = json.loads(line)["messages"]
    ids = tokenizer.apply_chat_template(messages, chat_template=template, tokenize=True,
                                        add_generation_prompt=True, **kwargs)
    if hasattr(ids, "keys"):  # a BatchEncoding
        ids = ids["input_ids"]
    prompts.append(list(ids))
json.dump(prompts, open(out_path, "w"))
