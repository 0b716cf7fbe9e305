#pragma once
// Writes a character-level tokenizer in Hugging Face's file format, for models trained from
// scratch on a small alphabet (the embedded demo's addition task: "0123456789+=,#$").
//
// tokenizer.json is a byte-level BPE with an empty merges list and the ByteLevel
// pre-tokenizer without its regex, so every character is one piece and one token: the same
// file loads in text::Tokenizer and in Hugging Face tokenizers. Ids: the characters in the
// order given (0..n-1), then the pad token as a special added token (id n).
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "empo/text/bpe.h"

namespace empo::text {

struct CharVocabulary {
  // Distinct printable ASCII characters (space included), one token each.
  std::string characters = "0123456789+=,#$";
  // The character that ends a completion: generation's EOS.
  char eos = '$';
  std::string pad_token = "<|endoftext|>";
  int64_t model_max_length = 128;
};

// InputError naming the problem: empty, repeated or non-printable characters, an eos that is
// not among them, an empty pad token or one that is also a character.
void validate(const CharVocabulary& vocabulary);

// Token counts and ids of the files below.
int64_t vocab_size(const CharVocabulary& vocabulary);  // characters + pad
TokenId eos_id(const CharVocabulary& vocabulary);
TokenId pad_id(const CharVocabulary& vocabulary);

nlohmann::json char_tokenizer_json(const CharVocabulary& vocabulary);
// tokenizer_config.json: eos_token, pad_token, no chat template (prompts are raw text).
nlohmann::json char_tokenizer_config_json(const CharVocabulary& vocabulary);
// generation_config.json: eos_token_id and pad_token_id.
nlohmann::json char_generation_config_json(const CharVocabulary& vocabulary);

// Writes the three files above into `folder` (created when missing), each atomically.
void write_char_tokenizer(const std::string& folder, const CharVocabulary& vocabulary);

}  // namespace empo::text
