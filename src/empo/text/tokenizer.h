#pragma once
// Byte-level BPE tokenizer loaded from a Hugging Face tokenizer.json (Qwen2/2.5/3, Llama-3,
// GPT-2 style files). Encoding reproduces Hugging Face tokenizers'
// `encode(text, add_special_tokens=False)` id for id:
//   1. added tokens (special or not) are cut out first, leftmost-longest, honouring their
//      lstrip / rstrip / single_word / normalized flags;
//   2. the rest is normalized (NFC, ...), split by the pre-tokenizer (regex Split, ByteLevel);
//   3. each piece is merged by BPE on its UTF-8 bytes.
//
// Input text that is not valid UTF-8 is not an error: each ill-formed subsequence becomes one
// U+FFFD (see utf8.h) before encoding, so encode(bytes) == encode(to_valid_utf8(bytes)).
//
// Decoding concatenates the tokens' bytes and replaces ill-formed UTF-8 with U+FFFD, as
// Hugging Face does. Ids that name no token (negative, or past the vocabulary, as the padding
// rows of Qwen's 151,936-row embedding) decode to nothing, again as Hugging Face does.
//
// A Tokenizer is immutable after loading and cheap to copy (shared state); encode and decode
// may run concurrently from any number of threads (each thread keeps its own word cache).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "empo/text/bpe.h"

namespace empo::text {

struct AddedToken {
  TokenId id = 0;
  std::string content;
  bool special = false;
  bool lstrip = false;       // also swallows the whitespace before it
  bool rstrip = false;       // also swallows the whitespace after it
  bool normalized = false;   // matched in normalized text instead of the raw input
  bool single_word = false;  // only matched when not inside a word
};

class Tokenizer {
 public:
  // `path` is a tokenizer.json file or a model folder that contains one. Throws InputError
  // naming the file for a missing or malformed file or an unsupported tokenizer kind.
  static Tokenizer load(const std::string& path);
  // The same from the file's text; `source` names it in error messages.
  static Tokenizer from_json(const std::string& json_text, const std::string& source);

  // Ids of `text`. With add_special_tokens, the post-processor's single-sequence template
  // (e.g. Llama-3's <|begin_of_text|>) is applied; Qwen's adds nothing.
  std::vector<TokenId> encode(std::string_view text, bool add_special_tokens = false) const;
  // Appends the ids of `text` to `ids`.
  void encode_append(std::string_view text, std::vector<TokenId>& ids,
                     bool add_special_tokens = false) const;

  std::string decode(const std::vector<TokenId>& ids, bool skip_special_tokens = false) const;
  std::string decode(const TokenId* ids, std::size_t count, bool skip_special_tokens = false) const;

  // The raw bytes a token decodes to (possibly part of a UTF-8 character); empty for an id
  // that names no token.
  std::string_view token_bytes(TokenId id) const;

  // Lookups in Hugging Face's token form (byte-level characters, e.g. "Ġthe" for " the");
  // added tokens by their content.
  std::optional<TokenId> token_to_id(std::string_view token) const;
  std::optional<std::string> id_to_token(TokenId id) const;

  // One past the highest token id, added tokens included (Qwen: 151,665). A model's
  // embedding may have more rows; the extra ids decode to nothing.
  std::size_t vocab_size() const;
  // BPE vocabulary entries only (Qwen: 151,643).
  std::size_t model_vocab_size() const;

  const std::vector<AddedToken>& added_tokens() const;
  // The id of the added token with this content, e.g. "<|im_end|>".
  std::optional<TokenId> added_token_id(std::string_view content) const;
  bool is_special(TokenId id) const;
  bool is_valid_id(TokenId id) const;

  // The tokenizer.json this came from, for messages.
  const std::string& source() const;

  struct Impl;

 private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// Decodes a growing id list piece by piece, emitting only complete UTF-8 characters: the
// concatenation of everything returned equals decode() of all ids pushed, once finish() has
// flushed a trailing incomplete character (as U+FFFD). Bytes that can never complete a
// character are emitted as U+FFFD at once, exactly where decode() puts them.
class IncrementalDecoder {
 public:
  explicit IncrementalDecoder(Tokenizer tokenizer, bool skip_special_tokens = false);

  // Adds ids and returns the text they complete (possibly empty).
  std::string push(TokenId id);
  std::string push(const TokenId* ids, std::size_t count);
  // For a list that only grows between calls: consumes ids[consumed()...] and returns the new
  // text.
  std::string update(const std::vector<TokenId>& all_ids);
  // Returns what is still held back (an incomplete character, as U+FFFD); later pushes go on
  // from there.
  std::string finish();
  void reset();  // forgets everything: text(), consumed() and held-back bytes

  const std::string& text() const { return text_; }   // everything returned so far
  std::size_t consumed() const { return consumed_; }  // ids pushed so far

 private:
  Tokenizer tokenizer_;
  bool skip_special_tokens_;
  std::string pending_;  // bytes of an incomplete trailing character
  std::string text_;
  std::size_t consumed_ = 0;
};

}  // namespace empo::text
