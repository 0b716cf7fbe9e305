#include "empo/io/model_files.h"

#include <filesystem>

#include "empo/io/jsonl.h"

namespace empo::io {

const std::vector<std::string>& model_side_file_names() {
  static const std::vector<std::string> names = {"tokenizer.json",
                                                 "tokenizer_config.json",
                                                 "chat_template.jinja",
                                                 "generation_config.json",
                                                 "special_tokens_map.json",
                                                 "vocab.json",
                                                 "merges.txt",
                                                 "added_tokens.json"};
  return names;
}

std::vector<std::pair<std::string, std::string>> read_model_side_files(const std::string& folder) {
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& name : model_side_file_names()) {
    const std::filesystem::path source = std::filesystem::path(folder) / name;
    std::error_code error;
    if (std::filesystem::is_regular_file(source, error))
      files.emplace_back(name, read_file(source.string()));
  }
  return files;
}

void write_model_side_files(const std::vector<std::pair<std::string, std::string>>& files,
                            const std::string& folder) {
  for (const auto& [name, contents] : files)
    write_file_atomic((std::filesystem::path(folder) / name).string(), contents);
}

}  // namespace empo::io
