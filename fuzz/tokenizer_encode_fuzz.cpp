// Tokenizer encode/decode on arbitrary bytes, with Qwen's real tokenizer.json and the
// hand-made Llama-3-style one (tests/fixtures). Checks, besides sanitizer faults:
//   - every encoded id names a token;
//   - decode(encode(x)) == NFC(to_valid_utf8(x)) for Qwen (NFC normalizer) and
//     == to_valid_utf8(x) for the Llama-3-style file (no normalizer), when x holds no '<'
//     (added tokens are cut out before normalization, so NFC then applies piecewise);
//   - the bytes read as ids decode to valid UTF-8, and IncrementalDecoder's pieces add up
//     to decode() of the same ids.
#include <cstring>

#include "empo/text/normalizer.h"
#include "empo/text/tokenizer.h"
#include "empo/text/utf8.h"
#include "fuzz_support.h"

namespace {

using empo::text::TokenId;
using empo::text::Tokenizer;

const Tokenizer& qwen() {
  static const Tokenizer tokenizer = Tokenizer::load(EMPO_FIXTURES_DIR "/qwen-tokenizer");
  return tokenizer;
}

const Tokenizer& llama3_style() {
  static const Tokenizer tokenizer =
      Tokenizer::load(EMPO_FIXTURES_DIR "/text/llama3-style-tokenizer.json");
  return tokenizer;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  qwen();
  llama3_style();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // First byte: bit 0 picks the tokenizer, bit 1 add_special_tokens, bit 2 skip_special_tokens.
  const bool use_qwen = (data[0] & 1) == 0;
  const bool add_special_tokens = (data[0] & 2) != 0;
  const bool skip_special_tokens = (data[0] & 4) != 0;
  const Tokenizer& tokenizer = use_qwen ? qwen() : llama3_style();
  std::string_view bytes = empo::fuzz::as_text(data + 1, size - 1);

  std::vector<TokenId> ids = tokenizer.encode(bytes, add_special_tokens);
  for (TokenId id : ids) EMPO_FUZZ_CHECK(tokenizer.is_valid_id(id), "encoded id names no token");
  std::string decoded = tokenizer.decode(ids, /*skip_special_tokens=*/add_special_tokens);
  if (bytes.find('<') == std::string_view::npos) {
    std::string valid = empo::text::to_valid_utf8(bytes);
    std::string expected =
        use_qwen ? empo::text::normalize_whole(valid, empo::text::NormalForm::nfc) : valid;
    EMPO_FUZZ_CHECK(decoded == expected, "decode(encode(x)) differs from the normalized x");
  }

  // The same bytes as ids: most are far outside the vocabulary, some negative.
  std::vector<TokenId> raw_ids(bytes.size() / sizeof(TokenId));
  if (!raw_ids.empty()) std::memcpy(raw_ids.data(), bytes.data(), raw_ids.size() * sizeof(TokenId));
  // Small ids too, so that real tokens (and parts of characters) come up.
  for (size_t i = 0; i + 1 < bytes.size(); i += 2)
    raw_ids.push_back(static_cast<uint8_t>(bytes[i]) | (static_cast<uint8_t>(bytes[i + 1]) << 8));
  std::string whole = tokenizer.decode(raw_ids, skip_special_tokens);
  EMPO_FUZZ_CHECK(empo::text::is_valid_utf8(whole), "decode produced invalid UTF-8");
  empo::text::IncrementalDecoder incremental(tokenizer, skip_special_tokens);
  std::string pieces;
  std::vector<TokenId> pushed;
  for (size_t i = 0; i < raw_ids.size(); ++i) {
    pushed.push_back(raw_ids[i]);
    pieces += i % 3 == 0 ? incremental.push(raw_ids[i]) : incremental.update(pushed);
  }
  pieces += incremental.finish();
  EMPO_FUZZ_CHECK(pieces == whole, "IncrementalDecoder pieces differ from decode()");
  return 0;
}
