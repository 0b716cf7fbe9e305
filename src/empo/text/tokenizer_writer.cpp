#include "empo/text/tokenizer_writer.h"

#include <filesystem>
#include <set>

#include "empo/io/error.h"
#include "empo/io/jsonl.h"
#include "empo/text/utf8.h"

namespace empo::text {

namespace {

using Json = nlohmann::json;

bool is_printable_ascii(char character) {
  return character >= ' ' && character <= '~';
}

// The vocabulary form of a one-byte token under GPT-2's byte-level table: printable bytes
// stand for themselves, the space is U+0120 ("Ġ"), the first of the shifted bytes after the
// 32 control characters.
std::string byte_level_token(char character) {
  std::string token;
  append_utf8(character == ' ' ? 0x120u : static_cast<std::uint32_t>(character), token);
  return token;
}

Json byte_level_step() {
  return Json{{"type", "ByteLevel"},
              {"add_prefix_space", false},
              {"trim_offsets", false},
              {"use_regex", false}};
}

Json pad_added_token(const CharVocabulary& vocabulary) {
  return Json{{"id", pad_id(vocabulary)}, {"content", vocabulary.pad_token},
              {"single_word", false},     {"lstrip", false},
              {"rstrip", false},          {"normalized", false},
              {"special", true}};
}

}  // namespace

void validate(const CharVocabulary& vocabulary) {
  const std::string source = "character vocabulary";
  if (vocabulary.characters.empty()) throw_input_error(source, 0, "no characters");
  std::set<char> seen;
  for (char character : vocabulary.characters) {
    if (!is_printable_ascii(character))
      throw_input_error(source, 0,
                        "character code " + std::to_string(static_cast<unsigned char>(character)) +
                            " is not printable ASCII (space to '~')");
    if (!seen.insert(character).second)
      throw_input_error(source, 0, std::string("character '") + character + "' appears twice");
  }
  if (!seen.count(vocabulary.eos))
    throw_input_error(source, 0,
                      std::string("eos character '") + vocabulary.eos + "' is not in \"" +
                          vocabulary.characters + "\"");
  if (vocabulary.pad_token.empty()) throw_input_error(source, 0, "empty pad token");
  if (vocabulary.pad_token.size() == 1 && seen.count(vocabulary.pad_token[0]))
    throw_input_error(source, 0, "pad token \"" + vocabulary.pad_token + "\" is also a character");
  if (vocabulary.model_max_length <= 0)
    throw_input_error(source, 0, "model_max_length must be positive");
}

int64_t vocab_size(const CharVocabulary& vocabulary) {
  return static_cast<int64_t>(vocabulary.characters.size()) + 1;
}

TokenId eos_id(const CharVocabulary& vocabulary) {
  return static_cast<TokenId>(vocabulary.characters.find(vocabulary.eos));
}

TokenId pad_id(const CharVocabulary& vocabulary) {
  return static_cast<TokenId>(vocabulary.characters.size());
}

Json char_tokenizer_json(const CharVocabulary& vocabulary) {
  validate(vocabulary);
  Json vocab = Json::object();
  for (std::size_t id = 0; id < vocabulary.characters.size(); ++id)
    vocab[byte_level_token(vocabulary.characters[id])] = id;
  Json model = {{"type", "BPE"},
                {"dropout", nullptr},
                {"unk_token", nullptr},
                {"continuing_subword_prefix", nullptr},
                {"end_of_word_suffix", nullptr},
                {"fuse_unk", false},
                {"byte_fallback", false},
                {"ignore_merges", false},
                {"vocab", vocab},
                {"merges", Json::array()}};
  return Json{{"version", "1.0"},
              {"truncation", nullptr},
              {"padding", nullptr},
              {"added_tokens", Json::array({pad_added_token(vocabulary)})},
              {"normalizer", nullptr},
              {"pre_tokenizer", byte_level_step()},
              {"post_processor", byte_level_step()},
              {"decoder", byte_level_step()},
              {"model", model}};
}

Json char_tokenizer_config_json(const CharVocabulary& vocabulary) {
  validate(vocabulary);
  Json added = pad_added_token(vocabulary);
  added.erase("id");
  return Json{{"add_bos_token", false},
              {"add_prefix_space", false},
              {"added_tokens_decoder", {{std::to_string(pad_id(vocabulary)), added}}},
              {"bos_token", nullptr},
              {"clean_up_tokenization_spaces", false},
              {"eos_token", std::string(1, vocabulary.eos)},
              {"pad_token", vocabulary.pad_token},
              {"unk_token", nullptr},
              {"model_max_length", vocabulary.model_max_length},
              {"tokenizer_class", "PreTrainedTokenizerFast"}};
}

Json char_generation_config_json(const CharVocabulary& vocabulary) {
  validate(vocabulary);
  return Json{{"bos_token_id", nullptr},
              {"eos_token_id", eos_id(vocabulary)},
              {"pad_token_id", pad_id(vocabulary)}};
}

void write_char_tokenizer(const std::string& folder, const CharVocabulary& vocabulary) {
  validate(vocabulary);
  std::filesystem::create_directories(folder);
  const std::filesystem::path base(folder);
  io::write_file_atomic((base / "tokenizer.json").string(),
                        char_tokenizer_json(vocabulary).dump(2) + "\n");
  io::write_file_atomic((base / "tokenizer_config.json").string(),
                        char_tokenizer_config_json(vocabulary).dump(2) + "\n");
  io::write_file_atomic((base / "generation_config.json").string(),
                        char_generation_config_json(vocabulary).dump(2) + "\n");
}

}  // namespace empo::text
