// Final-answer extraction on arbitrary completions, with every format and fallback order.
// extract_answer never throws; its result is trimmed, and in boxed form without fallbacks it
// is empty unless the completion holds a \boxed or \fbox.
#include "empo/reward/answer.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // First byte: bit 0 the format; bits 1-6, two bits per slot, up to three fallbacks.
  empo::reward::AnswerConfig config;
  config.format =
      (data[0] & 1) ? empo::reward::AnswerFormat::hash_dollar : empo::reward::AnswerFormat::boxed;
  for (int slot = 0; slot < 3; ++slot) {
    int code = (data[0] >> (1 + 2 * slot)) & 3;
    if (code == 0) continue;
    config.fallbacks.push_back(static_cast<empo::reward::AnswerFallback>(code - 1));
  }
  std::string completion(empo::fuzz::as_text(data + 1, size - 1));
  std::string answer = empo::reward::extract_answer(completion, config);
  EMPO_FUZZ_CHECK(empo::reward::trim(answer) == answer, "answer is not trimmed");
  if (config.format == empo::reward::AnswerFormat::boxed && config.fallbacks.empty() &&
      completion.find("\\boxed") == std::string::npos &&
      completion.find("\\fbox") == std::string::npos)
    EMPO_FUZZ_CHECK(answer.empty(), "an answer without a box");
  return 0;
}
