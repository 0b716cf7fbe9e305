#include "empo/text/tokenizer_writer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "empo/io/error.h"
#include "empo/text/chat_template.h"
#include "empo/text/tokenizer.h"
#include "test_support.h"

namespace empo::text {
namespace {

using Json = nlohmann::json;

Tokenizer written_tokenizer(const CharVocabulary& vocabulary, std::string* folder_out = nullptr) {
  std::string folder = test::temp_dir("char_tokenizer");
  write_char_tokenizer(folder, vocabulary);
  if (folder_out) *folder_out = folder;
  return Tokenizer::load(folder);
}

TEST(TokenizerWriter, AdditionStringsAreOneTokenPerCharacterAndRoundTrip) {
  CharVocabulary vocabulary;
  Tokenizer tokenizer = written_tokenizer(vocabulary);
  EXPECT_EQ(tokenizer.vocab_size(), 16u);
  EXPECT_EQ(tokenizer.model_vocab_size(), 15u);
  for (std::string text : {"23+45+67+12=23+45=68,68+67=135,135+12=147,#147$", "#147$", "0",
                           "99+99+99=", "$$##,,==++9876543210"}) {
    auto ids = tokenizer.encode(text);
    ASSERT_EQ(ids.size(), text.size()) << text;
    for (std::size_t i = 0; i < text.size(); ++i)
      EXPECT_EQ(ids[i], static_cast<TokenId>(vocabulary.characters.find(text[i]))) << text;
    EXPECT_EQ(tokenizer.decode(ids), text);
  }
}

TEST(TokenizerWriter, PadIsASpecialAddedTokenAfterTheCharacters) {
  CharVocabulary vocabulary;
  Tokenizer tokenizer = written_tokenizer(vocabulary);
  EXPECT_EQ(pad_id(vocabulary), 15);
  EXPECT_EQ(eos_id(vocabulary), 14);
  EXPECT_EQ(vocab_size(vocabulary), 16);
  ASSERT_EQ(tokenizer.added_token_id("<|endoftext|>"), std::optional<TokenId>(15));
  EXPECT_TRUE(tokenizer.is_special(15));
  EXPECT_FALSE(tokenizer.is_special(14));
  // Cut out of text as one token, and skipped on request.
  EXPECT_EQ(tokenizer.encode("1<|endoftext|>2"), (std::vector<TokenId>{1, 15, 2}));
  EXPECT_EQ(tokenizer.decode({1, 15, 2}, /*skip_special_tokens=*/true), "12");
  EXPECT_EQ(tokenizer.decode({1, 15, 2}), "1<|endoftext|>2");
}

TEST(TokenizerWriter, ChatSettingsAreRawWithTheEosCharacter) {
  CharVocabulary vocabulary;
  std::string folder;
  Tokenizer tokenizer = written_tokenizer(vocabulary, &folder);
  ChatTemplate chat = load_chat_template(folder, tokenizer);
  EXPECT_FALSE(chat.jinja);  // no template: prompts are raw text
  EXPECT_EQ(chat.eos_ids, (std::vector<TokenId>{14}));
  Json generation = Json::parse(test::read_text(folder + "/generation_config.json"));
  EXPECT_EQ(generation["eos_token_id"], 14);
  EXPECT_EQ(generation["pad_token_id"], 15);
  Json config = Json::parse(test::read_text(folder + "/tokenizer_config.json"));
  EXPECT_EQ(config["eos_token"], "$");
  EXPECT_EQ(config["pad_token"], "<|endoftext|>");
  EXPECT_EQ(config["model_max_length"], 128);
}

TEST(TokenizerWriter, FileIsAByteLevelBpeWithoutMerges) {
  Json json = char_tokenizer_json(CharVocabulary{});
  EXPECT_EQ(json["model"]["type"], "BPE");
  EXPECT_TRUE(json["model"]["merges"].is_array());
  EXPECT_TRUE(json["model"]["merges"].empty());
  EXPECT_EQ(json["model"]["vocab"].size(), 15u);
  EXPECT_EQ(json["model"]["vocab"]["$"], 14);
  for (const char* step : {"pre_tokenizer", "decoder"}) {
    EXPECT_EQ(json[step]["type"], "ByteLevel");
    EXPECT_EQ(json[step]["use_regex"], false);
  }
}

TEST(TokenizerWriter, SpaceUsesItsByteLevelForm) {
  CharVocabulary vocabulary;
  vocabulary.characters = "ab .";
  vocabulary.eos = '.';
  Json json = char_tokenizer_json(vocabulary);
  EXPECT_EQ(json["model"]["vocab"]["\xC4\xA0"], 2);  // "Ġ", GPT-2's form of the space
  Tokenizer tokenizer = written_tokenizer(vocabulary);
  EXPECT_EQ(tokenizer.encode("a b  ba."), (std::vector<TokenId>{0, 2, 1, 2, 2, 1, 0, 3}));
  EXPECT_EQ(tokenizer.decode({0, 2, 1, 2, 2, 1, 0, 3}), "a b  ba.");
}

TEST(TokenizerWriter, InvalidVocabulariesAreInputErrors) {
  auto with = [](std::string characters, char eos, std::string pad = "<pad>") {
    CharVocabulary vocabulary;
    vocabulary.characters = std::move(characters);
    vocabulary.eos = eos;
    vocabulary.pad_token = std::move(pad);
    return vocabulary;
  };
  EXPECT_THROW(validate(with("", '$')), InputError);
  EXPECT_THROW(validate(with("12$2", '$')), InputError);
  EXPECT_THROW(validate(with("12\n$", '$')), InputError);
  EXPECT_THROW(validate(with("12\xC3\xA9$", '$')), InputError);
  EXPECT_THROW(validate(with("123", '$')), InputError);
  EXPECT_THROW(validate(with("12$", '$', "")), InputError);
  EXPECT_THROW(validate(with("12$", '$', "1")), InputError);
  EXPECT_NO_THROW(validate(with("12$", '$', "12")));
  std::string folder = test::temp_dir("char_tokenizer_invalid");
  EXPECT_THROW(write_char_tokenizer(folder + "/out", with("1", '$')), InputError);
}

}  // namespace
}  // namespace empo::text
