// CSV on arbitrary bytes (io/csv.h), and a TruthfulQA question file built from it
// (data/prompt_source.h reads a .csv train_file): both may refuse input only with InputError.
// Accepted records start on lines inside the text, in increasing order, with at least one
// field; accepted questions have text.
#include <algorithm>

#include "empo/data/prompt_source.h"
#include "empo/io/csv.h"
#include "empo/io/error.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes = empo::fuzz::as_text(data, size);
  const long lines = static_cast<long>(std::count(bytes.begin(), bytes.end(), '\n')) + 1;
  try {
    long previous = 0;
    for (const auto& record : empo::io::parse_csv(bytes, "fuzz.csv")) {
      EMPO_FUZZ_CHECK(!record.fields.empty(), "a record without fields");
      EMPO_FUZZ_CHECK(record.line > previous && record.line <= lines, "record line out of order");
      previous = record.line;
    }
  } catch (const empo::InputError&) {
  }
  std::string path = empo::fuzz::write_scratch_file("TruthfulQA.csv", bytes);
  try {
    for (const auto& question : empo::data::read_questions(path))
      EMPO_FUZZ_CHECK(!question.text.empty(), "a question without text");
  } catch (const empo::InputError&) {
  }
  return 0;
}
