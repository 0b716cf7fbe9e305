#include "empo/text/pre_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <stdexcept>

namespace empo::text {

// ---------------------------------------------------------------------------------------------
// Regex

namespace {

// Unicode White_Space, the set Oniguruma's \s matches with a UTF-8 encoding.
constexpr const char* kWhiteSpaceItems =
    "\\x{9}-\\x{D}\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}"
    "\\x{202F}\\x{205F}\\x{3000}";

// GPT-2's split pattern, used by ByteLevel when "use_regex" is true.
constexpr const char* kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  int length = pcre2_get_error_message(code, buffer, sizeof(buffer));
  if (length < 0) return "PCRE2 error " + std::to_string(code);
  return std::string(reinterpret_cast<const char*>(buffer), static_cast<std::size_t>(length));
}

// One match data block per thread, shared by all patterns: only the whole match is read, so
// one ovector pair is enough for any pattern.
struct ThreadMatchData {
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  ~ThreadMatchData() { pcre2_match_data_free(data); }
};

pcre2_match_data* thread_match_data() {
  thread_local ThreadMatchData holder;
  return holder.data;
}

}  // namespace

std::string rewrite_whitespace_classes(const std::string& pattern) {
  std::string out;
  out.reserve(pattern.size() + 64);
  bool in_class = false;
  std::size_t class_start = 0;  // index just after '[' or '[^'
  std::size_t i = 0;
  while (i < pattern.size()) {
    char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      char escaped = pattern[i + 1];
      if (escaped == 's') {
        if (in_class) {
          out += kWhiteSpaceItems;
        } else {
          out += '[';
          out += kWhiteSpaceItems;
          out += ']';
        }
        i += 2;
        continue;
      }
      if (escaped == 'S' && !in_class) {
        out += "[^";
        out += kWhiteSpaceItems;
        out += ']';
        i += 2;
        continue;
      }
      if (escaped == 'Q') {  // \Q...\E quotes everything up to \E
        std::size_t close = pattern.find("\\E", i + 2);
        std::size_t stop = close == std::string::npos ? pattern.size() : close + 2;
        out.append(pattern, i, stop - i);
        i = stop;
        continue;
      }
      out += c;
      out += escaped;
      i += 2;
      continue;
    }
    if (in_class) {
      if (c == '[' && i + 1 < pattern.size() && pattern[i + 1] == ':') {
        std::size_t close = pattern.find(":]", i + 2);
        std::size_t stop = close == std::string::npos ? pattern.size() : close + 2;
        out.append(pattern, i, stop - i);
        i = stop;
        continue;
      }
      if (c == ']' && i != class_start) in_class = false;
    } else if (c == '[') {
      in_class = true;
      class_start = i + 1;
      if (class_start < pattern.size() && pattern[class_start] == '^') {
        out += "[^";
        i += 2;
        class_start = i;
        continue;
      }
    }
    out += c;
    ++i;
  }
  return out;
}

Regex::Regex(const std::string& pattern, bool literal) : pattern_(pattern) {
  std::string source = literal ? pattern : rewrite_whitespace_classes(pattern);
  std::uint32_t options = literal ? (PCRE2_UTF | PCRE2_LITERAL) : (PCRE2_UTF | PCRE2_UCP);
  int error = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(source.data()), source.size(),
                                   options, &error, &error_offset, nullptr);
  if (code == nullptr) {
    throw std::invalid_argument("regex \"" + pattern +
                                "\" does not compile: " + pcre2_message(error) + " at offset " +
                                std::to_string(error_offset));
  }
  code_ = code;
  jit_ = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
}

Regex::~Regex() {
  pcre2_code_free(static_cast<pcre2_code*>(code_));
}

bool Regex::next_match(std::string_view text, std::size_t offset, std::size_t& begin,
                       std::size_t& end) const {
  auto* code = static_cast<pcre2_code*>(code_);
  pcre2_match_data* match_data = thread_match_data();
  auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  int result;
  if (jit_) {
    // The JIT path performs no UTF check at all; the input was validated once by the caller.
    result = pcre2_jit_match(code, subject, text.size(), offset, 0, match_data, nullptr);
    if (result == PCRE2_ERROR_JIT_STACKLIMIT) {
      result = pcre2_match(code, subject, text.size(), offset, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT,
                           match_data, nullptr);
    }
  } else {
    result =
        pcre2_match(code, subject, text.size(), offset, PCRE2_NO_UTF_CHECK, match_data, nullptr);
  }
  if (result == PCRE2_ERROR_NOMATCH) return false;
  if (result < 0) {
    throw std::runtime_error("regex \"" + pattern_ + "\" failed: " + pcre2_message(result));
  }
  PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match_data);
  begin = ovector[0];
  end = ovector[1];
  return true;
}

std::size_t Regex::skip_character(std::string_view text, std::size_t position) {
  ++position;
  while (position < text.size() && (static_cast<unsigned char>(text[position]) & 0xC0) == 0x80)
    ++position;
  return position;
}

// ---------------------------------------------------------------------------------------------
// PreTokenizer

struct PreTokenizer::Step {
  enum class Kind { split, byte_level };
  Kind kind = Kind::split;
  std::unique_ptr<Regex> regex;  // the split pattern, or GPT-2's for byte_level with use_regex
  SplitBehavior behavior = SplitBehavior::isolated;
  bool invert = false;
  bool add_prefix_space = false;  // byte_level only
};

namespace {

using Json = nlohmann::json;
using Step = PreTokenizer::Step;

SplitBehavior behavior_of(const std::string& name) {
  if (name == "Removed") return SplitBehavior::removed;
  if (name == "Isolated") return SplitBehavior::isolated;
  if (name == "MergedWithPrevious") return SplitBehavior::merged_with_previous;
  if (name == "MergedWithNext") return SplitBehavior::merged_with_next;
  if (name == "Contiguous") return SplitBehavior::contiguous;
  throw std::invalid_argument("unknown split behavior \"" + name + "\"");
}

bool bool_field(const Json& node, const char* key, bool fallback) {
  auto found = node.find(key);
  if (found == node.end() || found->is_null()) return fallback;
  if (!found->is_boolean())
    throw std::invalid_argument(std::string("field \"") + key + "\" must be a boolean");
  return found->get<bool>();
}

std::unique_ptr<Step> split_step(const Json& node) {
  auto step = std::make_unique<Step>();
  auto pattern = node.find("pattern");
  if (pattern == node.end() || !pattern->is_object())
    throw std::invalid_argument("Split pre-tokenizer without a \"pattern\" object");
  if (pattern->contains("Regex") && (*pattern)["Regex"].is_string()) {
    step->regex = std::make_unique<Regex>((*pattern)["Regex"].get<std::string>(), false);
  } else if (pattern->contains("String") && (*pattern)["String"].is_string()) {
    step->regex = std::make_unique<Regex>((*pattern)["String"].get<std::string>(), true);
  } else {
    throw std::invalid_argument("Split pattern must be {\"Regex\": ...} or {\"String\": ...}");
  }
  auto behavior = node.find("behavior");
  if (behavior == node.end() || !behavior->is_string())
    throw std::invalid_argument("Split pre-tokenizer without a \"behavior\"");
  step->behavior = behavior_of(behavior->get<std::string>());
  step->invert = bool_field(node, "invert", false);
  return step;
}

void collect_steps(const Json& node, std::vector<std::unique_ptr<Step>>& steps) {
  if (node.is_null()) return;
  if (!node.is_object() || !node.contains("type") || !node["type"].is_string())
    throw std::invalid_argument("pre_tokenizer without a \"type\"");
  std::string type = node["type"].get<std::string>();
  if (type == "Sequence") {
    auto list = node.find("pretokenizers");
    if (list == node.end() || !list->is_array())
      throw std::invalid_argument("Sequence pre-tokenizer without a \"pretokenizers\" list");
    for (const auto& child : *list) collect_steps(child, steps);
  } else if (type == "Split") {
    steps.push_back(split_step(node));
  } else if (type == "ByteLevel") {
    auto step = std::make_unique<Step>();
    step->kind = Step::Kind::byte_level;
    // Hugging Face's defaults for fields an older file may lack.
    step->add_prefix_space = bool_field(node, "add_prefix_space", true);
    if (bool_field(node, "use_regex", true))
      step->regex = std::make_unique<Regex>(kGpt2Pattern, false);
    steps.push_back(std::move(step));
  } else if (type == "Digits") {
    auto step = std::make_unique<Step>();
    step->regex = std::make_unique<Regex>("[0-9]", false);
    step->behavior = bool_field(node, "individual_digits", false) ? SplitBehavior::isolated
                                                                  : SplitBehavior::contiguous;
    steps.push_back(std::move(step));
  } else {
    throw std::invalid_argument("unsupported pre_tokenizer type \"" + type +
                                "\" (supported: Split, ByteLevel, Digits, Sequence)");
  }
}

struct Span {
  std::size_t begin;
  std::size_t end;
  bool is_match;
};

// Hugging Face's SplitDelimiterBehavior applied to the alternating match / non-match spans.
void apply_behavior(SplitBehavior behavior, const std::vector<Span>& spans,
                    std::vector<Span>& out) {
  out.clear();
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::removed:
      for (const Span& span : spans)
        if (!span.is_match) out.push_back(span);
      break;
    case SplitBehavior::isolated:
      out = spans;
      break;
    case SplitBehavior::merged_with_previous:
      for (const Span& span : spans) {
        if (span.is_match && !previous_match && !out.empty()) {
          out.back().end = span.end;
        } else {
          out.push_back(span);
        }
        previous_match = span.is_match;
      }
      break;
    case SplitBehavior::merged_with_next:
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->is_match && !previous_match && !out.empty()) {
          out.back().begin = it->begin;
        } else {
          out.push_back(*it);
        }
        previous_match = it->is_match;
      }
      std::reverse(out.begin(), out.end());
      break;
    case SplitBehavior::contiguous:
      for (const Span& span : spans) {
        if (span.is_match == previous_match && !out.empty()) {
          out.back().end = span.end;
        } else {
          out.push_back(span);
        }
        previous_match = span.is_match;
      }
      break;
  }
}

// Matches become their own pieces, and so do the gaps between them: the behavior of every
// byte-level tokenizer in use, done without building span lists.
void split_isolated(const Regex& regex, std::string_view piece,
                    std::vector<std::string_view>& out) {
  std::size_t last = 0;
  regex.for_each_match(piece, [&](std::size_t begin, std::size_t end) {
    if (begin > last) out.push_back(piece.substr(last, begin - last));
    if (end > begin) out.push_back(piece.substr(begin, end - begin));
    last = end;
  });
  if (last < piece.size()) out.push_back(piece.substr(last));
}

void split_general(const Step& step, std::string_view piece, std::vector<std::string_view>& out) {
  thread_local std::vector<Span> spans;
  thread_local std::vector<Span> merged;
  spans.clear();
  std::size_t last = 0;
  step.regex->for_each_match(piece, [&](std::size_t begin, std::size_t end) {
    if (begin > last) spans.push_back({last, begin, step.invert});
    spans.push_back({begin, end, !step.invert});
    last = end;
  });
  if (last < piece.size()) spans.push_back({last, piece.size(), step.invert});
  apply_behavior(step.behavior, spans, merged);
  for (const Span& span : merged)
    if (span.end > span.begin) out.push_back(piece.substr(span.begin, span.end - span.begin));
}

void apply_step(const Step& step, std::string_view piece, PreTokenized& state) {
  std::vector<std::string_view>& out = state.scratch;
  if (step.kind == Step::Kind::byte_level) {
    if (step.add_prefix_space && piece.front() != ' ') {
      state.arena.push_back(" " + std::string(piece));
      piece = state.arena.back();
    }
    if (step.regex) {
      split_isolated(*step.regex, piece, out);
    } else {
      out.push_back(piece);
    }
    return;
  }
  if (step.behavior == SplitBehavior::isolated && !step.invert) {
    split_isolated(*step.regex, piece, out);
  } else {
    split_general(step, piece, out);
  }
}

}  // namespace

PreTokenizer::PreTokenizer() = default;
PreTokenizer::~PreTokenizer() = default;
PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;

PreTokenizer PreTokenizer::from_json(const nlohmann::json& node) {
  PreTokenizer pre_tokenizer;
  collect_steps(node, pre_tokenizer.steps_);
  return pre_tokenizer;
}

bool PreTokenizer::has_byte_level() const {
  for (const auto& step : steps_)
    if (step->kind == Step::Kind::byte_level) return true;
  return false;
}

void PreTokenizer::split(std::string_view text, PreTokenized& out) const {
  out.clear();
  if (text.empty()) return;
  out.pieces.push_back(text);
  for (const auto& step : steps_) {
    out.scratch.clear();
    for (std::string_view piece : out.pieces) apply_step(*step, piece, out);
    out.pieces.swap(out.scratch);
  }
}

}  // namespace empo::text
