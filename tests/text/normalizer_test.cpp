#include "empo/text/normalizer.h"

#include <gtest/gtest.h>

#include <random>

#include "empo/text/utf8.h"

namespace empo::text {
namespace {

TEST(Normalizer, NfcComposesDecomposedText) {
  Normalizer nfc = Normalizer::of({NormalForm::nfc});
  std::string storage;
  EXPECT_EQ(nfc.normalize("cafe\xCC\x81", storage), "caf\xC3\xA9");  // e + U+0301 -> é
  // Composition exclusions decompose: U+095A (Devanagari ghha) -> U+0917 U+093C.
  EXPECT_EQ(nfc.normalize("\xE0\xA5\x9A", storage), "\xE0\xA4\x97\xE0\xA4\xBC");
  // Already-NFC text comes back as a view of the input, without a copy.
  std::string_view text = "plain text, 你好, 😀";
  EXPECT_EQ(nfc.normalize(text, storage).data(), text.data());
}

TEST(Normalizer, OtherFormsAndSequences) {
  std::string storage;
  EXPECT_EQ(Normalizer::of({NormalForm::nfd}).normalize("\xC3\xA9", storage), "e\xCC\x81");
  EXPECT_EQ(Normalizer::of({NormalForm::nfkc}).normalize("\xEF\xBC\xA1", storage), "A");  // Ａ
  auto sequence = Normalizer::from_json(nlohmann::json::parse(
      R"({"type": "Sequence", "normalizers": [{"type": "NFD"}, {"type": "NFC"}]})"));
  EXPECT_EQ(sequence.normalize("cafe\xCC\x81", storage), "caf\xC3\xA9");
  EXPECT_TRUE(Normalizer::from_json(nlohmann::json()).is_identity());
}

TEST(Normalizer, UnsupportedTypeIsAClearError) {
  try {
    Normalizer::from_json(nlohmann::json::parse(R"({"type": "Lowercase"})"));
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("Lowercase"), std::string::npos);
  }
}

TEST(Normalizer, PiecewiseNfcEqualsWholeTextNfc) {
  // Random strings mixing the code points the fast path skips with combining marks, Hangul
  // jamo, kana voicing marks and composition exclusions that must go through utf8proc.
  static const std::uint32_t kPool[] = {
      'a',     'e',     'A',    ' ',    0xE9,   0x0301, 0x0308, 0x0323, 0x0327,
      0x05B7,  0x093C,  0x0915, 0x095A, 0x0B47, 0x0B3E, 0x1100, 0x1161, 0x11A8,
      0xAC00,  0xAC01,  0x304B, 0x3099, 0x309A, 0x30AB, 0x4E2D, 0x3001, 0xFF0C,
      0x1F600, 0x1F3FD, 0x0410, 0x0306, 0x0418, 0x2026, 0x212B, 0x2126, 0x0344,
      0x0F73,  0x1E0A,  0x0387, 0x037E, 0x00C5, 0x1E9B, 0x0FB5, 0xFB1D, 0x2000};
  std::mt19937 random(3);
  Normalizer nfc = Normalizer::of({NormalForm::nfc});
  for (int trial = 0; trial < 3000; ++trial) {
    std::string text;
    int length = 1 + static_cast<int>(random() % 10);
    for (int i = 0; i < length; ++i) append_utf8(kPool[random() % std::size(kPool)], text);
    std::string storage;
    EXPECT_EQ(std::string(nfc.normalize(text, storage)), normalize_whole(text, NormalForm::nfc))
        << "input: " << text;
  }
}

}  // namespace
}  // namespace empo::text
