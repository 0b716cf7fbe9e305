#pragma once
// UTF-8 checks shared by the tokenizer and its decoders. Ill-formed input is never an error:
// each maximal ill-formed subpart (Unicode 15, section 3.9, "U+FFFD substitution of maximal
// subparts") becomes one U+FFFD, the policy of Python's errors="replace" and Rust's
// String::from_utf8_lossy, which is what Hugging Face tokenizers applies when decoding.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace empo::text {

inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD

bool is_valid_utf8(std::string_view bytes);

// `bytes` with every ill-formed subsequence replaced by U+FFFD (see above).
std::string to_valid_utf8(std::string_view bytes);

// Appends to_valid_utf8(bytes) to `out`.
void append_valid_utf8(std::string_view bytes, std::string& out);

// How many bytes at the end of `bytes` start a character that is well formed so far but
// still misses continuation bytes (0 to 3). Everything before them decodes the same whatever
// bytes follow, which is what incremental decoding relies on.
std::size_t incomplete_utf8_suffix(std::string_view bytes);

// Decodes the well-formed character starting at bytes[position], returning its length
// (1 to 4) and storing the code point; returns 0 for an ill-formed or truncated sequence.
std::size_t decode_utf8_character(std::string_view bytes, std::size_t position,
                                  std::uint32_t& code_point);

// Appends the UTF-8 encoding of a code point (which must be a Unicode scalar value).
void append_utf8(std::uint32_t code_point, std::string& out);

}  // namespace empo::text
