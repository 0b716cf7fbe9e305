#include "empo/text/pre_tokenizer.h"

#include <gtest/gtest.h>

#include <chrono>

namespace empo::text {
namespace {

using Json = nlohmann::json;
using Pieces = std::vector<std::string>;

const char* kQwenPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

Pieces split(const PreTokenizer& pre_tokenizer, std::string_view text) {
  PreTokenized out;
  pre_tokenizer.split(text, out);
  return Pieces(out.pieces.begin(), out.pieces.end());
}

PreTokenizer split_by(const std::string& pattern_kind, const std::string& pattern,
                      const std::string& behavior, bool invert = false) {
  return PreTokenizer::from_json(Json{{"type", "Split"},
                                      {"pattern", {{pattern_kind, pattern}}},
                                      {"behavior", behavior},
                                      {"invert", invert}});
}

TEST(PreTokenizer, QwenRegexSplitsLikeHuggingFace) {
  PreTokenizer qwen = split_by("Regex", kQwenPattern, "Isolated");
  EXPECT_EQ(split(qwen, "Hello world"), (Pieces{"Hello", " world"}));
  EXPECT_EQ(split(qwen, "  leading"), (Pieces{" ", " leading"}));
  EXPECT_EQ(split(qwen, "12345"), (Pieces{"1", "2", "3", "4", "5"}));
  EXPECT_EQ(split(qwen, "DON'T it's"), (Pieces{"DON", "'T", " it", "'s"}));
  EXPECT_EQ(split(qwen, "x\r\n\r\ny"), (Pieces{"x", "\r\n\r\n", "y"}));
  EXPECT_EQ(split(qwen, "a  \n"), (Pieces{"a", "  \n"}));
  EXPECT_EQ(split(qwen, ""), Pieces{});
}

TEST(PreTokenizer, WhitespaceMeansUnicodeWhiteSpaceAsInOniguruma) {
  PreTokenizer qwen = split_by("Regex", kQwenPattern, "Isolated");
  // U+00A0 is White_Space: a run before a letter keeps its last space for the word.
  EXPECT_EQ(split(qwen, "a\u00A0\u00A0b"), (Pieces{"a", "\u00A0", "\u00A0b"}));
  // U+180E is not White_Space since Unicode 6.3 (PCRE2's own \s still matches it).
  EXPECT_EQ(split(qwen, "a\u180E\u180Eb"), (Pieces{"a", "\u180E\u180E", "b"}));
}

TEST(PreTokenizer, RewriteWhitespaceClasses) {
  std::string rewritten = rewrite_whitespace_classes(R"(\s+(?!\S)|[^\s\p{L}]|\\s|[]\s]|\Q\s\E)");
  EXPECT_EQ(rewritten.find("\\s+"), std::string::npos);
  EXPECT_NE(rewritten.find("[^\\x{9}-\\x{D}"), std::string::npos);  // \S outside a class
  EXPECT_NE(rewritten.find("\\\\s"), std::string::npos);            // an escaped backslash
  EXPECT_NE(rewritten.find("\\Q\\s\\E"), std::string::npos);        // quoted text is kept
  EXPECT_NE(rewritten.find("[]\\x{9}"), std::string::npos);         // ']' first is literal
}

TEST(PreTokenizer, SplitBehaviorsMatchHuggingFaceDocumentation) {
  // The example of tokenizers' SplitDelimiterBehavior documentation.
  std::string text = "the-final--countdown";
  EXPECT_EQ(split(split_by("String", "-", "Removed"), text), (Pieces{"the", "final", "countdown"}));
  EXPECT_EQ(split(split_by("String", "-", "Isolated"), text),
            (Pieces{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(split(split_by("String", "-", "MergedWithPrevious"), text),
            (Pieces{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(split(split_by("String", "-", "MergedWithNext"), text),
            (Pieces{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(split(split_by("String", "-", "Contiguous"), text),
            (Pieces{"the", "-", "final", "--", "countdown"}));
  EXPECT_EQ(split(split_by("String", "-", "Removed", true), text), (Pieces{"-", "-", "-"}));
  // A literal pattern is not a regex.
  EXPECT_EQ(split(split_by("String", ".", "Removed"), "a.b"), (Pieces{"a", "b"}));
}

TEST(PreTokenizer, ByteLevelWithRegexAndPrefixSpace) {
  auto gpt2 = PreTokenizer::from_json(
      Json{{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}});
  EXPECT_TRUE(gpt2.has_byte_level());
  EXPECT_EQ(split(gpt2, "Hello world 2024!"), (Pieces{" Hello", " world", " 2024", "!"}));
  // The prefixed copies live in the state's arena, which each call starts afresh.
  PreTokenized reused;
  gpt2.split("one", reused);
  gpt2.split("two", reused);
  EXPECT_EQ(reused.arena.size(), 1u);
  EXPECT_EQ(Pieces(reused.pieces.begin(), reused.pieces.end()), (Pieces{" two"}));
  auto plain = PreTokenizer::from_json(
      Json{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}});
  EXPECT_EQ(split(plain, "Hello world"), (Pieces{"Hello world"}));
}

TEST(PreTokenizer, DigitsAndSequence) {
  auto sequence = PreTokenizer::from_json(Json::parse(R"({"type": "Sequence", "pretokenizers": [
      {"type": "Digits", "individual_digits": false},
      {"type": "Split", "pattern": {"String": " "}, "behavior": "Removed", "invert": false}]})"));
  EXPECT_EQ(split(sequence, "ab 123c 4"), (Pieces{"ab", "123", "c", "4"}));
  auto individual = PreTokenizer::from_json(Json{{"type", "Digits"}, {"individual_digits", true}});
  EXPECT_EQ(split(individual, "a12"), (Pieces{"a", "1", "2"}));
  EXPECT_FALSE(individual.has_byte_level());
}

TEST(PreTokenizer, UnsupportedOrMalformedIsAClearError) {
  auto message_of = [](const Json& node) {
    try {
      PreTokenizer::from_json(node);
    } catch (const std::invalid_argument& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message_of(Json{{"type", "Metaspace"}}).find("Metaspace"), std::string::npos);
  EXPECT_NE(message_of(Json{{"type", "Split"}, {"behavior", "Isolated"}}).find("pattern"),
            std::string::npos);
  EXPECT_NE(
      message_of(
          Json{{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}})
          .find("does not compile"),
      std::string::npos);
}

TEST(PreTokenizer, LongInputsSplitInLinearTime) {
  // Long runs of spaces, letters and CJK: each would be quadratic with a careless regex loop.
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "word, 中文字符 123 ";
  text += std::string(200000, ' ');
  text += "end";
  PreTokenizer qwen = split_by("Regex", kQwenPattern, "Isolated");
  auto start = std::chrono::steady_clock::now();
  Pieces pieces = split(qwen, text);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 5.0);
  std::string joined;
  for (const auto& piece : pieces) joined += piece;
  EXPECT_EQ(joined, text);
}

}  // namespace
}  // namespace empo::text
