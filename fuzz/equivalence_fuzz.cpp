// Math equivalence of two arbitrary answers (through equivalence.h's public API).
// Input: "a<TAB>b" (the layout of tests/fixtures/reward/equivalence_pairs.tsv); without a
// tab, a is compared with itself. compare_answers never throws, is symmetric, and answers
// with the same non-empty canonical key are equivalent. A verdict cut by the time bound
// by a work bound (bound_exceeded) is exempt from the checks: the bound may cut one order and
// not the other.
#include "empo/reward/equivalence.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input = empo::fuzz::as_text(data, size);
  size_t tab = input.find('\t');
  std::string a(input.substr(0, tab));
  std::string b(tab == std::string_view::npos ? input : input.substr(tab + 1));
  using empo::reward::Verdict;
  Verdict forward = empo::reward::compare_answers(a, b);
  Verdict backward = empo::reward::compare_answers(b, a);
  if (forward != Verdict::bound_exceeded && backward != Verdict::bound_exceeded)
    EMPO_FUZZ_CHECK(forward == backward, "compare_answers(a, b) != compare_answers(b, a)");
  std::string key_a = empo::reward::canonical_key(empo::reward::parse_answer(a));
  std::string key_b = empo::reward::canonical_key(empo::reward::parse_answer(b));
  if (!key_a.empty() && key_a == key_b && forward != Verdict::bound_exceeded)
    EMPO_FUZZ_CHECK(forward == Verdict::equivalent, "same canonical key but not equivalent");
  return 0;
}
