#pragma once
// Pre-tokenizers of tokenizer.json: Split (regex or literal pattern, every split behavior,
// invert), ByteLevel (optional GPT-2 regex and prefix space), Digits, and Sequence. Regexes
// run on PCRE2 (UTF + UCP, JIT-compiled) in place of Hugging Face's Oniguruma.
//
// Oniguruma and PCRE2 agree on the constructs these files use, except `\s`: PCRE2 also counts
// U+180E as a space. Patterns are rewritten so that `\s` means the Unicode White_Space property,
// as in Oniguruma (see rewrite_whitespace_classes). Both follow the Unicode tables of their
// version, so letters added after PCRE2's Unicode version are not \p{L} here.
#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace empo::text {

// A compiled PCRE2 pattern. Thread-safe: per-thread match data.
class Regex {
 public:
  // `literal` escapes the whole pattern (tokenizer.json {"String": ...} patterns).
  // Throws std::invalid_argument with PCRE2's message when the pattern does not compile.
  Regex(const std::string& pattern, bool literal);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Calls on_match(begin, end) for each successive non-overlapping match in `text`, which must
  // be valid UTF-8 (it is not checked again). An empty match moves the search one character on.
  template <typename OnMatch>
  void for_each_match(std::string_view text, OnMatch&& on_match) const {
    std::size_t offset = 0;
    std::size_t begin = 0;
    std::size_t end = 0;
    while (offset <= text.size() && next_match(text, offset, begin, end)) {
      on_match(begin, end);
      offset = end > begin ? end : skip_character(text, end);
    }
  }

  const std::string& pattern() const { return pattern_; }

 private:
  bool next_match(std::string_view text, std::size_t offset, std::size_t& begin,
                  std::size_t& end) const;
  static std::size_t skip_character(std::string_view text, std::size_t position);

  std::string pattern_;
  void* code_ = nullptr;  // pcre2_code_8*
  bool jit_ = false;
};

// `\s` -> the White_Space class and `\S` -> its complement, inside and outside character
// classes; everything else is copied unchanged.
std::string rewrite_whitespace_classes(const std::string& pattern);

enum class SplitBehavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };

// Pieces of text after pre-tokenization: views into the input text or into `arena`, where
// steps that add characters (ByteLevel's prefix space) keep their new strings.
struct PreTokenized {
  std::vector<std::string_view> pieces;
  std::deque<std::string> arena;
  std::vector<std::string_view> scratch;
  void clear() {
    pieces.clear();
    arena.clear();
    scratch.clear();
  }
};

class PreTokenizer {
 public:
  PreTokenizer();  // no step: the text is one piece
  ~PreTokenizer();
  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;

  // Throws std::invalid_argument naming an unsupported or malformed pre-tokenizer.
  static PreTokenizer from_json(const nlohmann::json& node);

  // Replaces out.pieces with the pieces of `text` (valid UTF-8); empty pieces are dropped, as
  // Hugging Face drops them. Pieces of an earlier call on `out` become invalid.
  void split(std::string_view text, PreTokenized& out) const;

  // Whether a ByteLevel step is present (a byte-level BPE needs one).
  bool has_byte_level() const;

  struct Step;

 private:
  std::vector<std::unique_ptr<Step>> steps_;
};

}  // namespace empo::text
