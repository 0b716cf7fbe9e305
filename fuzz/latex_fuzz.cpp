// The LaTeX answer parser on arbitrary text (through latex.h's public API): parse_answer never
// throws and stays within its bounds; describe, canonical_key and normalize_text accept
// whatever it returns.
#include "empo/reward/latex.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string answer(empo::fuzz::as_text(data, size));
  empo::reward::MathValue value = empo::reward::parse_answer(answer);
  (void)empo::reward::describe(value);
  std::string key = empo::reward::canonical_key(value);
  if (value.kind == empo::reward::ValueKind::empty ||
      value.kind == empo::reward::ValueKind::invalid)
    EMPO_FUZZ_CHECK(key.empty(), "empty or invalid values must have no canonical key");
  (void)empo::reward::normalize_text(answer);
  // Parsing is a function of the text: a second parse gives the same value.
  EMPO_FUZZ_CHECK(empo::reward::canonical_key(empo::reward::parse_answer(answer)) == key,
                  "parse_answer is not deterministic");
  return 0;
}
