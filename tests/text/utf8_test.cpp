#include "empo/text/utf8.h"

#include <gtest/gtest.h>

#include <random>

namespace empo::text {
namespace {

const std::string kFffd(kReplacementCharacter);

TEST(Utf8, ValidTextPassesUnchanged) {
  std::string text = "plain ASCII, café, 你好, 😀, \xF4\x8F\xBF\xBF (U+10FFFF)";
  EXPECT_TRUE(is_valid_utf8(text));
  EXPECT_EQ(to_valid_utf8(text), text);
}

TEST(Utf8, MaximalSubpartsBecomeOneReplacementEach) {
  // The example of Unicode 15 section 3.9, table 3-8.
  std::string bytes = "\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64";
  EXPECT_FALSE(is_valid_utf8(bytes));
  EXPECT_EQ(to_valid_utf8(bytes),
            "a" + kFffd + kFffd + kFffd + "b" + kFffd + "c" + kFffd + kFffd + "d");
}

TEST(Utf8, SurrogatesOverlongsAndOutOfRangeAreIllFormed) {
  // Each byte of an encoded surrogate, an overlong form or a value past U+10FFFF is its own
  // maximal subpart, as in Python's errors="replace".
  EXPECT_EQ(to_valid_utf8("\xED\xA0\x80"), kFffd + kFffd + kFffd);
  EXPECT_EQ(to_valid_utf8("\xC0\x80"), kFffd + kFffd);
  EXPECT_EQ(to_valid_utf8("\xF4\x90\x80\x80"), kFffd + kFffd + kFffd + kFffd);
  EXPECT_EQ(to_valid_utf8("\xFF"), kFffd);
  EXPECT_EQ(to_valid_utf8("\xE4\xB8"), kFffd);  // truncated at the end: one subpart
}

TEST(Utf8, IncompleteSuffixCountsOnlyTruncatedCharacters) {
  EXPECT_EQ(incomplete_utf8_suffix(""), 0u);
  EXPECT_EQ(incomplete_utf8_suffix("abc"), 0u);
  EXPECT_EQ(incomplete_utf8_suffix("a\xE4"), 1u);
  EXPECT_EQ(incomplete_utf8_suffix("a\xE4\xB8"), 2u);
  EXPECT_EQ(incomplete_utf8_suffix("a\xE4\xB8\xAD"), 0u);  // 中, complete
  EXPECT_EQ(incomplete_utf8_suffix("\xF0\x9F\x98"), 3u);
  EXPECT_EQ(incomplete_utf8_suffix("\xED\xA0"), 0u);  // a surrogate can never complete
  EXPECT_EQ(incomplete_utf8_suffix("\xB8"), 0u);      // a stray continuation byte
  EXPECT_EQ(incomplete_utf8_suffix("\xE4\xE4\xB8"), 2u);
}

TEST(Utf8, DecodingAPrefixThenTheRestEqualsDecodingTheWhole) {
  // The property incremental decoding relies on: cutting before the incomplete suffix never
  // changes the result.
  std::mt19937 random(7);
  for (int trial = 0; trial < 2000; ++trial) {
    std::string bytes;
    int length = 1 + static_cast<int>(random() % 12);
    for (int i = 0; i < length; ++i) {
      static const unsigned char kInteresting[] = {0x41, 0x80, 0xBF, 0xC2, 0xDF, 0xE0, 0xE4,
                                                   0xED, 0xA0, 0xF0, 0x9F, 0xF4, 0x90, 0xFF};
      bytes.push_back(static_cast<char>(kInteresting[random() % sizeof(kInteresting)]));
    }
    std::size_t cut = random() % (bytes.size() + 1);
    std::string head = bytes.substr(0, cut);
    std::size_t held = incomplete_utf8_suffix(head);
    std::string incremental = to_valid_utf8(head.substr(0, head.size() - held)) +
                              to_valid_utf8(head.substr(head.size() - held) + bytes.substr(cut));
    EXPECT_EQ(incremental, to_valid_utf8(bytes));
  }
}

TEST(Utf8, DecodeCharacterAndAppendRoundTrip) {
  for (std::uint32_t code_point : {0x41u, 0xE9u, 0x4E2Du, 0x1F600u, 0x10FFFFu}) {
    std::string encoded;
    append_utf8(code_point, encoded);
    std::uint32_t decoded = 0;
    EXPECT_EQ(decode_utf8_character(encoded, 0, decoded), encoded.size());
    EXPECT_EQ(decoded, code_point);
  }
  std::uint32_t unused = 0;
  EXPECT_EQ(decode_utf8_character("\xE4\xB8", 0, unused), 0u);
}

}  // namespace
}  // namespace empo::text
