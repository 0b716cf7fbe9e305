#include "empo/text/tokenizer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <thread>

#include "empo/io/error.h"
#include "empo/io/jsonl.h"
#include "empo/text/normalizer.h"
#include "empo/text/utf8.h"
#include "test_support.h"

namespace empo::text {
namespace {

using Json = nlohmann::json;
using Ids = std::vector<TokenId>;

const std::string kFffd(kReplacementCharacter);

const Tokenizer& qwen() {
  static const Tokenizer tokenizer = Tokenizer::load(test::fixture("qwen-tokenizer"));
  return tokenizer;
}

Json llama3_style_json() {
  return Json::parse(test::read_text(test::fixture("text/llama3-style-tokenizer.json")));
}

// The hand-made byte-level tokenizer (byte b has id b) with its added tokens replaced.
Tokenizer tiny_with_added(const Json& added_tokens, const Json& normalizer = Json()) {
  Json root = llama3_style_json();
  root["added_tokens"] = added_tokens;
  root["normalizer"] = normalizer;
  root["post_processor"] = nullptr;
  return Tokenizer::from_json(root.dump(), "tiny-tokenizer.json");
}

Json added(TokenId id, const std::string& content, Json flags = Json::object()) {
  Json token = {{"id", id},        {"content", content},  {"single_word", false}, {"lstrip", false},
                {"rstrip", false}, {"normalized", false}, {"special", false}};
  for (auto it = flags.begin(); it != flags.end(); ++it) token[it.key()] = it.value();
  return token;
}

// ---------------------------------------------------------------------------------------------
// Qwen: the real vocabulary against Hugging Face's output

TEST(QwenTokenizer, EveryGoldenLineEncodesAndDecodesExactly) {
  std::string path = test::fixture("qwen-tokenizer-goldens.jsonl");
  int lines = 0;
  io::for_each_jsonl(path, [&](const Json& line, long number) {
    auto text = line.at("text").get<std::string>();
    auto golden_ids = line.at("ids").get<Ids>();
    auto golden_text = line.at("decoded").get<std::string>();
    EXPECT_EQ(qwen().encode(text), golden_ids) << path << ":" << number << " " << text;
    EXPECT_EQ(qwen().decode(golden_ids), golden_text) << path << ":" << number;
    ++lines;
  });
  EXPECT_EQ(lines, 69);
}

TEST(QwenTokenizer, VocabularyLookups) {
  const Tokenizer& tokenizer = qwen();
  EXPECT_EQ(tokenizer.model_vocab_size(), 151643u);
  EXPECT_EQ(tokenizer.vocab_size(), 151669u);
  EXPECT_EQ(tokenizer.token_to_id("Ġworld"), 1879);
  EXPECT_EQ(tokenizer.id_to_token(1879), "Ġworld");
  EXPECT_EQ(tokenizer.token_bytes(1879), " world");
  EXPECT_EQ(tokenizer.token_to_id("<|im_end|>"), 151645);
  EXPECT_EQ(tokenizer.id_to_token(151644), "<|im_start|>");
  EXPECT_EQ(tokenizer.added_token_id("<|endoftext|>"), 151643);
  EXPECT_FALSE(tokenizer.added_token_id("Ġworld").has_value());
  EXPECT_FALSE(tokenizer.token_to_id("no such token").has_value());
  EXPECT_FALSE(tokenizer.id_to_token(151900).has_value());
  EXPECT_FALSE(tokenizer.id_to_token(-1).has_value());
  EXPECT_TRUE(tokenizer.is_special(151645));
  EXPECT_FALSE(tokenizer.is_special(151657));  // <tool_call> is added but not special
  EXPECT_FALSE(tokenizer.is_special(1879));
  EXPECT_EQ(tokenizer.added_tokens().size(), 26u);
}

TEST(QwenTokenizer, IdsPastTheVocabularyDecodeToNothing) {
  // Qwen's embedding has 151,936 rows; rows past the vocabulary name no token.
  EXPECT_EQ(qwen().decode(Ids{9707, 151900, 151935, -5, 1879}), "Hello world");
  EXPECT_FALSE(qwen().is_valid_id(151669));
  EXPECT_TRUE(qwen().is_valid_id(151668));
  EXPECT_EQ(qwen().token_bytes(200000), "");
}

TEST(QwenTokenizer, SkipSpecialTokensKeepsNonSpecialAddedTokens) {
  Ids ids = qwen().encode("<|im_start|>user\nhi<|im_end|><tool_call>");
  EXPECT_EQ(ids.front(), 151644);
  EXPECT_EQ(qwen().decode(ids), "<|im_start|>user\nhi<|im_end|><tool_call>");
  EXPECT_EQ(qwen().decode(ids, true), "user\nhi<tool_call>");
}

TEST(QwenTokenizer, InvalidUtf8BecomesReplacementCharacters) {
  std::string bad = "abc\xFF\xFE def \xE4\xB8 \xED\xA0\x80 ok";
  std::string replaced =
      "abc" + kFffd + kFffd + " def " + kFffd + " " + kFffd + kFffd + kFffd + " ok";
  Ids ids = qwen().encode(bad);
  EXPECT_EQ(ids, qwen().encode(replaced));
  EXPECT_EQ(qwen().decode(ids), replaced);
  // A lone token holding part of a character decodes to U+FFFD too.
  Ids partial = qwen().encode("걥");
  ASSERT_GT(partial.size(), 1u);
  EXPECT_EQ(qwen().decode(Ids{partial[0]}), kFffd);
}

TEST(QwenTokenizer, RandomTextRoundTripsThroughNfc) {
  // Byte-level BPE loses nothing but the normalization: decode(encode(x)) == NFC(x).
  static const std::uint32_t kPool[] = {
      'a',     'Z',     '7',     ' ',    ' ',    '\n',   '\r',     '\t',   '\'',
      '$',     '\\',    '{',     '}',    '!',    0xA0,   0xE9,     0x301,  0x4E2D,
      0x6587,  0x3002,  0xFF0C,  0x3042, 0x30AB, 0x3099, 0xAC00,   0x1100, 0x0915,
      0x094D,  0x0627,  0x0644,  0x05D0, 0x0410, 0x03B1, 0x2028,   0x3000, 0x180E,
      0x1F600, 0x1F44D, 0x1F3FD, 0x200D, 0xFE0F, 0xE000, 0x10FFFD, 0xFFFD, 0x0};
  std::mt19937 random(5);
  for (int trial = 0; trial < 400; ++trial) {
    std::string text;
    int length = static_cast<int>(random() % 40);
    for (int i = 0; i < length; ++i) append_utf8(kPool[random() % std::size(kPool)], text);
    EXPECT_EQ(qwen().decode(qwen().encode(text)), normalize_whole(text, NormalForm::nfc))
        << "input: " << text;
  }
}

TEST(QwenTokenizer, LongInputsEncodeQuicklyAndLosslessly) {
  // One huge word (heap merge path), one huge CJK run, a huge whitespace run.
  std::string text = std::string(300000, 'x') + " ";
  for (int i = 0; i < 50000; ++i) text += "中文字";
  text += std::string(300000, ' ') + "\n";
  auto start = std::chrono::steady_clock::now();
  Ids ids = qwen().encode(text);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 10.0);
  EXPECT_EQ(qwen().decode(ids), text);
}

TEST(QwenTokenizer, ConcurrentEncodingGivesTheSameIds) {
  std::string text = "Concurrent threads each keep their own word cache: 你好，世界！ 12345 😀";
  Ids expected = qwen().encode(text);
  std::vector<Ids> results(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) results[t] = qwen().encode(text);
    });
  }
  for (auto& thread : threads) thread.join();
  for (const Ids& result : results) EXPECT_EQ(result, expected);
}

// ---------------------------------------------------------------------------------------------
// Incremental decoding

TEST(IncrementalDecoder, MatchesFullDecodeWheneverThePrefixIsComplete) {
  std::string text =
      "你好，世界！😀👍🏽 걥侢ٗ걥vェ🙊ƜҔヸゅɁLワϦ亭B😶 emoji ❤️ "
      "और "
      "café";
  Ids ids = qwen().encode(text);
  IncrementalDecoder decoder(qwen());
  std::string emitted;
  int incomplete_steps = 0;
  for (std::size_t k = 0; k < ids.size(); ++k) {
    emitted += decoder.push(ids[k]);
    Ids prefix(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(k) + 1);
    std::string bytes;
    for (TokenId id : prefix) bytes += qwen().token_bytes(id);
    std::string full = qwen().decode(prefix);
    if (is_valid_utf8(bytes)) {
      EXPECT_EQ(emitted, full) << "after " << k + 1 << " ids";
    } else {
      ++incomplete_steps;
      // Held back: what was emitted is the complete part of the full decode.
      EXPECT_EQ(full.compare(0, emitted.size(), emitted), 0) << "after " << k + 1 << " ids";
      EXPECT_LT(emitted.size(), full.size());
    }
  }
  EXPECT_GT(incomplete_steps, 0) << "the text should split characters across tokens";
  emitted += decoder.finish();
  EXPECT_EQ(emitted, text);
  EXPECT_EQ(decoder.text(), text);
}

TEST(IncrementalDecoder, UpdateConsumesOnlyNewIdsAndFinishFlushes) {
  Ids ids = qwen().encode("걥 done");
  IncrementalDecoder decoder(qwen());
  Ids growing;
  std::string emitted;
  for (TokenId id : ids) {
    growing.push_back(id);
    emitted += decoder.update(growing);
  }
  EXPECT_EQ(decoder.consumed(), ids.size());
  EXPECT_EQ(emitted + decoder.finish(), "걥 done");

  // An id list that ends inside a character: finish() gives U+FFFD like decode().
  IncrementalDecoder truncated(qwen());
  EXPECT_EQ(truncated.push(ids[0]), "");
  EXPECT_EQ(truncated.finish(), kFffd);
  truncated.reset();
  EXPECT_EQ(truncated.consumed(), 0u);
  EXPECT_THROW(decoder.update(Ids{}), std::invalid_argument);
}

TEST(IncrementalDecoder, SkipsSpecialTokensAndUnknownIds) {
  IncrementalDecoder decoder(qwen(), true);
  std::string out = decoder.push(151644);
  out += decoder.push(9707);
  out += decoder.push(151900);
  out += decoder.push(151645);
  EXPECT_EQ(out, "Hello");
}

// ---------------------------------------------------------------------------------------------
// Llama-3 style file: a different regex, ignore_merges, a BOS post-processor

TEST(Llama3StyleTokenizer, LoadsItsOwnRegexAndTemplate) {
  Tokenizer tokenizer = Tokenizer::load(test::fixture("text/llama3-style-tokenizer.json"));
  // Llama-3's regex keeps up to three digits together: "123" and "45" are single pieces.
  EXPECT_EQ(tokenizer.encode("the 12345"), (Ids{257, 32, 261, 262}));
  EXPECT_EQ(tokenizer.encode(" the sing"), (Ids{259, 32, 115, 264}));
  EXPECT_EQ(tokenizer.encode("the 12345", true), (Ids{300, 257, 32, 261, 262}));
  EXPECT_EQ(tokenizer.decode(Ids{300, 257, 32, 261, 262}), "<|begin_of_text|>the 12345");
  EXPECT_EQ(tokenizer.decode(Ids{300, 257}, true), "the");
  EXPECT_EQ(tokenizer.encode("<|eot_id|>xyz"), (Ids{304, 266}));
}

TEST(Llama3StyleTokenizer, IgnoreMergesTakesWholeWordsFromTheVocabulary) {
  Json root = llama3_style_json();
  EXPECT_EQ(Tokenizer::from_json(root.dump(), "a.json").encode("xyz"), (Ids{266}));
  root["model"]["ignore_merges"] = false;
  EXPECT_EQ(Tokenizer::from_json(root.dump(), "b.json").encode("xyz"), (Ids{120, 121, 122}));
}

TEST(Llama3StyleTokenizer, MergesAsPairsEqualMergesAsStrings) {
  Json root = llama3_style_json();
  Json pairs = Json::array();
  for (const Json& merge : root["model"]["merges"]) {
    std::string line = merge.get<std::string>();
    std::size_t space = line.find(' ');
    pairs.push_back(Json::array({line.substr(0, space), line.substr(space + 1)}));
  }
  root["model"]["merges"] = pairs;
  Tokenizer tokenizer = Tokenizer::from_json(root.dump(), "pairs.json");
  EXPECT_EQ(tokenizer.encode(" the 12345 sing"), (Ids{259, 32, 261, 262, 32, 115, 264}));
}

// ---------------------------------------------------------------------------------------------
// Added-token flags

TEST(AddedTokens, LongestMatchWinsAtTheLeftmostPosition) {
  Tokenizer tokenizer = tiny_with_added(Json::array({added(400, "ab"), added(401, "abc")}));
  EXPECT_EQ(tokenizer.encode("xabcd"), (Ids{120, 401, 100}));
  EXPECT_EQ(tokenizer.encode("xabd"), (Ids{120, 400, 100}));
}

TEST(AddedTokens, LstripAndRstripSwallowWhitespace) {
  Tokenizer plain = tiny_with_added(Json::array({added(400, "<mask>")}));
  // "a  " ends in a whitespace piece "  ", which the merge Ġ Ġ (id 265) joins.
  EXPECT_EQ(plain.encode("a  <mask>  b"), (Ids{97, 265, 400, 32, 32, 98}));
  Tokenizer left = tiny_with_added(Json::array({added(400, "<mask>", {{"lstrip", true}})}));
  EXPECT_EQ(left.encode("a  <mask>  b"), (Ids{97, 400, 32, 32, 98}));
  Tokenizer right = tiny_with_added(Json::array({added(400, "<mask>", {{"rstrip", true}})}));
  EXPECT_EQ(right.encode("a  <mask>  b"), (Ids{97, 265, 400, 98}));
}

TEST(AddedTokens, SingleWordOnlyMatchesWholeWords) {
  Tokenizer tokenizer = tiny_with_added(Json::array({added(400, "yes", {{"single_word", true}})}));
  EXPECT_EQ(tokenizer.encode("yes!"), (Ids{400, 33}));
  EXPECT_EQ(tokenizer.encode("eyes"), (Ids{101, 121, 101, 115}));
  EXPECT_EQ(tokenizer.encode("yes_"), (Ids{121, 101, 115, 95}));
}

TEST(AddedTokens, NormalizedTokensMatchAfterNormalization) {
  Json nfc = {{"type", "NFC"}};
  // "café" precomposed; the input has e + U+0301, which NFC composes. (A one-character
  // content such as "é" would be the byte-level vocabulary's own token for byte 0xE9.)
  Tokenizer normalized =
      tiny_with_added(Json::array({added(400, "caf\u00e9", {{"normalized", true}})}), nfc);
  EXPECT_EQ(normalized.encode("cafe\u0301"), (Ids{400}));
  EXPECT_EQ(normalized.encode("a caf\u00e9"), (Ids{97, 32, 400}));
  Tokenizer raw = tiny_with_added(Json::array({added(400, "caf\u00e9")}), nfc);
  EXPECT_EQ(raw.encode("cafe\u0301"), (Ids{99, 97, 102, 0xC3, 0xA9}));
  EXPECT_EQ(raw.encode("caf\u00e9"), (Ids{400}));
}

TEST(AddedTokens, ContentAlreadyInTheVocabularyKeepsItsId) {
  // As in Hugging Face: "é" is the byte-level token of byte 0xE9 (id 233 here).
  Tokenizer tokenizer = tiny_with_added(Json::array({added(400, "\u00e9")}));
  EXPECT_EQ(tokenizer.added_token_id("\u00e9"), 233);
  EXPECT_EQ(tokenizer.encode("\u00e9"), (Ids{233}));
}

// ---------------------------------------------------------------------------------------------
// Loading errors

std::string load_error(const std::string& contents, const std::string& name) {
  std::string path = test::temp_dir("tokenizer") + "/" + name;
  test::write_text(path, contents);
  try {
    Tokenizer::load(path);
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find(path), std::string::npos) << error.what();
    return error.what();
  }
  return "no error";
}

TEST(TokenizerLoading, MalformedFilesAreInputErrorsNamingTheFile) {
  EXPECT_NE(load_error("{\"model\": ", "bad.json").find("invalid JSON"), std::string::npos);
  EXPECT_NE(load_error("{\"version\": \"1.0\"}", "nomodel.json").find("missing \"model\""),
            std::string::npos);
  EXPECT_NE(load_error(R"({"model": {"type": "Unigram", "vocab": []}})", "unigram.json")
                .find("unsupported model type \"Unigram\""),
            std::string::npos);

  Json root = llama3_style_json();
  root["model"]["merges"].push_back("q zz");
  EXPECT_NE(load_error(root.dump(), "merge.json").find("missing from the vocabulary"),
            std::string::npos);

  root = llama3_style_json();
  root["pre_tokenizer"] = {{"type", "Metaspace"}};
  EXPECT_NE(load_error(root.dump(), "metaspace.json").find("Metaspace"), std::string::npos);

  root = llama3_style_json();
  root["pre_tokenizer"]["pretokenizers"].erase(1);  // no ByteLevel step left
  EXPECT_NE(load_error(root.dump(), "notbytelevel.json").find("ByteLevel"), std::string::npos);

  root = llama3_style_json();
  root["model"]["vocab"]["bad"] = "seven";
  EXPECT_NE(load_error(root.dump(), "vocab.json").find("\"bad\""), std::string::npos);
}

// Found by fuzz/tokenizer_json_fuzz: a template's special-token ids were used unchecked (encode
// returned ids that name no token), and a huge id made the id tables' resize() throw
// std::length_error or exhaust memory instead of naming the entry.
TEST(TokenizerLoading, IdsThatNameNoTokenAreInputErrors) {
  Json root = llama3_style_json();
  root["post_processor"] = {
      {"type", "TemplateProcessing"},
      {"single", Json::parse(R"([{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                 {"Sequence": {"id": "A", "type_id": 0}}])")},
      {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {262144}}, {"tokens", {"<s>"}}}}}}};
  EXPECT_NE(load_error(root.dump(), "template.json").find("post_processor adds id 262144"),
            std::string::npos);

  root = llama3_style_json();
  root["model"]["vocab"]["huge"] = 4000000000LL;
  EXPECT_NE(load_error(root.dump(), "huge_vocab_id.json").find("vocab entry \"huge\""),
            std::string::npos);

  root = llama3_style_json();
  root["added_tokens"].push_back(added(0, "<huge>"));
  root["added_tokens"].back()["id"] = 1000000000000LL;
  EXPECT_NE(load_error(root.dump(), "huge_added_id.json").find("added token"), std::string::npos);
}

TEST(TokenizerLoading, FolderOrFile) {
  EXPECT_EQ(Tokenizer::load(test::fixture("qwen-tokenizer/tokenizer.json")).vocab_size(),
            qwen().vocab_size());
  EXPECT_EQ(qwen().source(), test::fixture("qwen-tokenizer") + "/tokenizer.json");
  std::string empty = test::temp_dir("empty_model");
  EXPECT_THROW(Tokenizer::load(empty), InputError);
  EXPECT_THROW(Tokenizer::load(empty + "/missing.json"), InputError);
}

}  // namespace
}  // namespace empo::text
