#include "empo/data/prompt_source.h"

#include <filesystem>
#include <utility>

#include "empo/data/random.h"
#include "empo/data/truthfulqa.h"
#include "empo/io/error.h"

namespace empo::data {
namespace {

std::string file_stem(const std::string& path) {
  return std::filesystem::path(path).stem().string();
}

// A golden answer as text: strings as they are, numbers in JSON form (147, 0.5).
std::string answer_text(const io::Json& value, const char* field, const std::string& path,
                        long line) {
  if (value.is_string()) {
    if (value.get_ref<const std::string&>().empty())
      throw_input_error(path, line, std::string("field \"") + field + "\" is an empty string");
    return value.get<std::string>();
  }
  if (value.is_number()) return value.dump();
  throw_input_error(path, line,
                    std::string("field \"") + field + "\" must be a string or a number, got " +
                        value.type_name());
}

// A string, a number or a list of them; null means no answer.
std::vector<std::string> answer_list(const io::Json& value, const char* field,
                                     const std::string& path, long line) {
  if (value.is_null()) return {};
  if (!value.is_array()) return {answer_text(value, field, path, line)};
  std::vector<std::string> answers;
  for (const auto& item : value) answers.push_back(answer_text(item, field, path, line));
  return answers;
}

std::string required_text(const io::Json& value, const char* field, const std::string& path,
                          long line) {
  if (!value.is_string())
    throw_input_error(
        path, line,
        std::string("field \"") + field + "\" must be a string, got " + value.type_name());
  const auto& text = value.get_ref<const std::string&>();
  if (text.find_first_not_of(" \t\r\n") == std::string::npos)
    throw_input_error(path, line, std::string("field \"") + field + "\" is empty");
  return text;
}

// verl layout: the user message is the question; a system message is kept beside it. Only
// single-turn prompts make sense for sampling answers, so other roles are an error.
void read_chat_prompt(const io::Json& messages, const std::string& path, long line,
                      Question& question) {
  bool have_user = false;
  for (const auto& message : messages) {
    if (!message.is_object() || !message.contains("role") || !message.contains("content") ||
        !message["role"].is_string())
      throw_input_error(path, line,
                        "\"prompt\" messages must be objects with \"role\" and \"content\"");
    const std::string& role = message["role"].get_ref<const std::string&>();
    if (role == "system") {
      question.system_prompt = required_text(message["content"], "content", path, line);
    } else if (role == "user") {
      if (have_user)
        throw_input_error(path, line, "\"prompt\" has more than one user message (multi-turn)");
      question.text = required_text(message["content"], "content", path, line);
      have_user = true;
    } else {
      throw_input_error(
          path, line,
          "\"prompt\" message with unsupported role \"" + role + "\" (expected system or user)");
    }
  }
  if (!have_user) throw_input_error(path, line, "\"prompt\" has no user message");
}

void read_text(const io::Json& record, const std::string& path, long line, Question& question) {
  for (const char* field : {"problem", "question"}) {
    if (record.contains(field)) {
      question.text = required_text(record[field], field, path, line);
      return;
    }
  }
  if (!record.contains("prompt"))
    throw_input_error(path, line, "no question: expected \"problem\", \"question\" or \"prompt\"");
  const io::Json& prompt = record["prompt"];
  question.is_prompt = true;
  if (prompt.is_array()) {
    read_chat_prompt(prompt, path, line, question);
  } else {
    question.text = required_text(prompt, "prompt", path, line);
  }
}

void read_answers(const io::Json& record, const std::string& path, long line, Question& question) {
  if (record.contains("answer")) {
    question.answers = answer_list(record["answer"], "answer", path, line);
    if (!question.answers.empty()) return;
  }
  if (record.contains("reward_model")) {
    const io::Json& reward_model = record["reward_model"];
    if (!reward_model.is_object())
      throw_input_error(path, line, "field \"reward_model\" must be an object");
    if (reward_model.contains("ground_truth")) {
      question.answers =
          answer_list(reward_model["ground_truth"], "reward_model.ground_truth", path, line);
      if (!question.answers.empty()) return;
    }
  }
  if (record.contains("solution") && !record["solution"].is_null()) {
    question.answers = {required_text(record["solution"], "solution", path, line)};
    question.answer_from_solution = true;
  }
}

std::string read_id(const io::Json& record, const std::string& path, long line) {
  if (record.contains("id")) {
    const io::Json& id = record["id"];
    if (id.is_string() && !id.get_ref<const std::string&>().empty()) return id.get<std::string>();
    if (id.is_number_integer()) return id.dump();
    throw_input_error(path, line, "field \"id\" must be a non-empty string or an integer");
  }
  return file_stem(path) + ":" + std::to_string(line);
}

}  // namespace

Question parse_question(const io::Json& record, const std::string& path, long line) {
  if (!record.is_object()) throw_input_error(path, line, "expected a JSON object");
  Question question;
  question.line = line;
  read_text(record, path, line, question);
  read_answers(record, path, line, question);
  question.id = read_id(record, path, line);
  return question;
}

std::vector<Question> read_questions(const std::string& path, std::vector<SkippedLine>* skipped) {
  if (is_csv_path(path)) return truthfulqa_questions(read_truthfulqa(path, skipped));
  std::vector<Question> questions;
  auto visit = [&](const io::Json& record, long line) {
    if (!skipped) {
      questions.push_back(parse_question(record, path, line));
      return;
    }
    try {
      questions.push_back(parse_question(record, path, line));
    } catch (const InputError& error) {
      skipped->push_back({line, error.what()});
    }
  };
  if (skipped) {
    io::for_each_jsonl(path, visit, [&](long line, const std::string& reason) {
      skipped->push_back({line, located(path, line, reason)});
    });
  } else {
    io::for_each_jsonl(path, visit);
  }
  if (questions.empty()) throw_input_error(path, 0, "no questions in the file");
  return questions;
}

std::string apply_question_template(const std::string& question_template, const std::string& text) {
  const std::string placeholder = kQuestionPlaceholder;
  if (question_template.find(placeholder) == std::string::npos)
    throw InputError("question_template: must contain the placeholder " + placeholder);
  std::string result;
  size_t start = 0;
  for (size_t found; (found = question_template.find(placeholder, start)) != std::string::npos;
       start = found + placeholder.size()) {
    result.append(question_template, start, found - start);
    result += text;
  }
  result.append(question_template, start, std::string::npos);
  return result;
}

std::string apply_question_template(const std::string& question_template,
                                    const Question& question) {
  if (question.is_prompt) return question.text;
  return apply_question_template(question_template, question.text);
}

std::vector<std::size_t> epoch_order(std::size_t size, std::uint64_t seed, std::uint64_t epoch) {
  std::vector<std::size_t> order(size);
  for (std::size_t i = 0; i < size; ++i) order[i] = i;
  std::mt19937_64 engine = seeded_engine({seed, epoch});
  for (std::size_t i = size; i > 1; --i) std::swap(order[i - 1], order[uniform_below(engine, i)]);
  return order;
}

io::Json CursorState::to_json() const {
  return {{"seed", seed},
          {"size", size},
          {"shuffle", shuffle},
          {"epoch", epoch},
          {"position", position}};
}

CursorState CursorState::from_json(const io::Json& json) {
  const std::string where = "prompt cursor state";
  auto unsigned_field = [&](const char* key) {
    if (!json.is_object() || !json.contains(key) || !json[key].is_number_unsigned())
      throw_input_error(where, 0,
                        std::string("field \"") + key + "\" missing or not a non-negative integer");
    return json[key].get<std::uint64_t>();
  };
  CursorState state;
  state.seed = unsigned_field("seed");
  state.size = static_cast<std::size_t>(unsigned_field("size"));
  state.epoch = unsigned_field("epoch");
  state.position = static_cast<std::size_t>(unsigned_field("position"));
  if (!json.contains("shuffle") || !json["shuffle"].is_boolean())
    throw_input_error(where, 0, "field \"shuffle\" missing or not a boolean");
  state.shuffle = json["shuffle"].get<bool>();
  if (state.size == 0 || state.position >= state.size)
    throw_input_error(where, 0,
                      "position " + std::to_string(state.position) + " is outside an epoch of " +
                          std::to_string(state.size));
  return state;
}

PromptCursor::PromptCursor(std::size_t size, std::uint64_t seed, bool shuffle) {
  if (size == 0) throw InputError("no questions to draw from");
  state_.seed = seed;
  state_.size = size;
  state_.shuffle = shuffle;
  restore(state_);
}

std::vector<std::size_t> PromptCursor::next_batch(std::size_t n) {
  std::vector<std::size_t> batch;
  batch.reserve(n);
  while (batch.size() < n) {
    batch.push_back(order_[state_.position]);
    if (++state_.position == state_.size) {
      state_.position = 0;
      ++state_.epoch;
      restore(state_);
    }
  }
  return batch;
}

double PromptCursor::epochs_done() const {
  return static_cast<double>(state_.epoch) +
         static_cast<double>(state_.position) / static_cast<double>(state_.size);
}

void PromptCursor::restore(const CursorState& state) {
  if (state.seed != state_.seed || state.size != state_.size || state.shuffle != state_.shuffle)
    throw InputError("prompt cursor state is for seed " + std::to_string(state.seed) + ", " +
                     std::to_string(state.size) + " questions, shuffle " +
                     (state.shuffle ? "on" : "off") + "; this run has seed " +
                     std::to_string(state_.seed) + ", " + std::to_string(state_.size) +
                     " questions, shuffle " + (state_.shuffle ? "on" : "off"));
  if (state.position >= state.size)
    throw InputError("prompt cursor position " + std::to_string(state.position) +
                     " is outside an epoch of " + std::to_string(state.size));
  state_ = state;
  if (state_.shuffle) {
    order_ = epoch_order(state_.size, state_.seed, state_.epoch);
  } else {
    order_.resize(state_.size);
    for (std::size_t i = 0; i < state_.size; ++i) order_[i] = i;
  }
}

PromptSource::PromptSource(std::vector<Question> questions, std::uint64_t seed, bool shuffle)
    : questions_(std::move(questions)), cursor_(questions_.size(), seed, shuffle) {}

PromptSource PromptSource::from_file(const std::string& path, std::uint64_t seed, bool shuffle,
                                     std::vector<SkippedLine>* skipped) {
  return PromptSource(read_questions(path, skipped), seed, shuffle);
}

std::vector<Question> PromptSource::next_batch(std::size_t n) {
  std::vector<Question> batch;
  batch.reserve(n);
  for (std::size_t index : cursor_.next_batch(n)) batch.push_back(questions_[index]);
  return batch;
}

}  // namespace empo::data
