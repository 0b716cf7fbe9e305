#pragma once
// The files of a Hugging Face model folder besides its weights and config.json: tokenizer,
// chat template and generation settings. Every folder empo writes (a training checkpoint, an SFT
// result, a merged LoRA model) copies these from the folder it started from, so that it loads in
// transformers and renders the same prompts as its source.
#include <string>
#include <utility>
#include <vector>

namespace empo::io {

// tokenizer.json, tokenizer_config.json, chat_template.jinja, generation_config.json, ...
const std::vector<std::string>& model_side_file_names();

// (name, contents) of each of them that `folder` holds, read now: a resumed run's source
// checkpoint may be rotated away before the next save.
std::vector<std::pair<std::string, std::string>> read_model_side_files(const std::string& folder);

// Writes them into `folder` (each atomically).
void write_model_side_files(const std::vector<std::pair<std::string, std::string>>& files,
                            const std::string& folder);

}  // namespace empo::io
