// tokenizer.json loading on arbitrary text: a file that is not a supported byte-level BPE
// must be refused with InputError. A tokenizer that loads must encode and decode without
// fault, and every id it produces must name a token.
#include "empo/io/error.h"
#include "empo/text/tokenizer.h"
#include "empo/text/utf8.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string json(empo::fuzz::as_text(data, size));
  std::optional<empo::text::Tokenizer> tokenizer;
  try {
    tokenizer = empo::text::Tokenizer::from_json(json, "tokenizer.json");
  } catch (const empo::InputError&) {
    return 0;
  }
  // The file's own text is a handy input: it holds the vocabulary's characters.
  for (bool add_special_tokens : {false, true}) {
    std::vector<empo::text::TokenId> ids = tokenizer->encode(json, add_special_tokens);
    for (empo::text::TokenId id : ids)
      EMPO_FUZZ_CHECK(tokenizer->is_valid_id(id), "encode produced an id that names no token");
    std::string text = tokenizer->decode(ids);
    EMPO_FUZZ_CHECK(empo::text::is_valid_utf8(text), "decode produced invalid UTF-8");
  }
  std::vector<empo::text::TokenId> every_id;
  for (size_t id = 0; id < tokenizer->vocab_size() + 2 && id < 4096; ++id)
    every_id.push_back(static_cast<empo::text::TokenId>(id));
  every_id.push_back(-1);
  (void)tokenizer->decode(every_id, /*skip_special_tokens=*/true);
  return 0;
}
