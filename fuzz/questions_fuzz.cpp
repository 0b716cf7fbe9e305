// JSONL question files on arbitrary bytes: read_questions must refuse a bad file with
// InputError naming file:line, never with another exception. Accepted questions have text and
// a line inside the file.
#include <algorithm>

#include "empo/data/prompt_source.h"
#include "empo/io/error.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes = empo::fuzz::as_text(data, size);
  std::string path = empo::fuzz::write_scratch_file("questions.jsonl", bytes);
  try {
    std::vector<empo::data::Question> questions = empo::data::read_questions(path);
    EMPO_FUZZ_CHECK(!questions.empty(), "read_questions accepted a file without questions");
    long lines = static_cast<long>(std::count(bytes.begin(), bytes.end(), '\n')) + 1;
    for (const auto& question : questions) {
      EMPO_FUZZ_CHECK(!question.text.empty(), "a question without text");
      EMPO_FUZZ_CHECK(!question.id.empty(), "a question without an id");
      EMPO_FUZZ_CHECK(question.line >= 1 && question.line <= lines, "line outside the file");
      std::string prompt =
          empo::data::apply_question_template(empo::data::kAuthorsQuestionTemplate, question);
      EMPO_FUZZ_CHECK(prompt.find(question.text) != std::string::npos, "prompt lost the question");
    }
  } catch (const empo::InputError&) {
  }
  return 0;
}
