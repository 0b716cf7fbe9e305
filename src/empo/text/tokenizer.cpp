#include "empo/text/tokenizer.h"

#include <atomic>
#include <filesystem>
#include <stdexcept>
#include <unordered_map>

#include <utf8proc.h>
#include <nlohmann/json.hpp>

#include "empo/io/error.h"
#include "empo/io/jsonl.h"
#include "empo/text/normalizer.h"
#include "empo/text/pre_tokenizer.h"
#include "empo/text/utf8.h"

namespace empo::text {

namespace {

using Json = nlohmann::json;

// ---------------------------------------------------------------------------------------------
// GPT-2's byte <-> character table: printable Latin-1 bytes stand for themselves, the other
// 68 bytes are shifted to U+0100 and up, so every byte is a visible character in vocab files.

struct ByteLevelTable {
  std::uint32_t char_of_byte[256];
  std::unordered_map<std::uint32_t, unsigned char> byte_of_char;

  ByteLevelTable() {
    int shifted = 0;
    for (int byte = 0; byte < 256; ++byte) {
      bool printable = (byte >= '!' && byte <= '~') || (byte >= 0xA1 && byte <= 0xAC) ||
                       (byte >= 0xAE && byte <= 0xFF);
      char_of_byte[byte] = printable ? static_cast<std::uint32_t>(byte) : 256u + shifted++;
      byte_of_char[char_of_byte[byte]] = static_cast<unsigned char>(byte);
    }
  }
};

const ByteLevelTable& byte_level_table() {
  static const ByteLevelTable table;
  return table;
}

// The bytes a token string stands for, as Hugging Face's ByteLevel decoder computes them: each
// character mapped back to its byte, or the string's own UTF-8 when any character is not in
// the table.
std::string bytes_of_token(std::string_view token) {
  const ByteLevelTable& table = byte_level_table();
  std::string bytes;
  bytes.reserve(token.size());
  std::size_t position = 0;
  while (position < token.size()) {
    std::uint32_t code_point = 0;
    std::size_t length = decode_utf8_character(token, position, code_point);
    if (length == 0) return std::string(token);
    auto found = table.byte_of_char.find(code_point);
    if (found == table.byte_of_char.end()) return std::string(token);
    bytes.push_back(static_cast<char>(found->second));
    position += length;
  }
  return bytes;
}

std::string token_of_bytes(std::string_view bytes) {
  const ByteLevelTable& table = byte_level_table();
  std::string token;
  for (char byte : bytes) append_utf8(table.char_of_byte[static_cast<unsigned char>(byte)], token);
  return token;
}

// ---------------------------------------------------------------------------------------------
// Unicode classes used by the added-token flags, as the Rust regex crate defines \s and \w.

bool is_white_space(std::uint32_t c) {
  return (c >= 0x9 && c <= 0xD) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

bool is_word_character(std::uint32_t c) {
  if (c == '_' || c == 0x200C || c == 0x200D) return true;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_PC:
      return true;
    default:
      return false;
  }
}

// Start of the last character of text[0, end), for walking backwards.
std::size_t previous_character(std::string_view text, std::size_t end) {
  std::size_t position = end - 1;
  while (position > 0 && (static_cast<unsigned char>(text[position]) & 0xC0) == 0x80) --position;
  return position;
}

std::uint32_t code_point_at(std::string_view text, std::size_t position) {
  std::uint32_t code_point = 0;
  decode_utf8_character(text, position, code_point);
  return code_point;
}

// ---------------------------------------------------------------------------------------------
// Added tokens: a byte trie searched leftmost-longest, like the Aho-Corasick automaton with
// MatchKind::LeftmostLongest that Hugging Face uses.

class AddedTokenTrie {
 public:
  void add(std::string_view content, std::size_t token_index) {
    if (content.empty()) return;
    if (nodes_.empty()) nodes_.emplace_back();
    std::size_t node = 0;
    for (char c : content) {
      auto byte = static_cast<unsigned char>(c);
      int child = child_of(node, byte);
      if (child < 0) {
        child = static_cast<int>(nodes_.size());
        nodes_[node].children.emplace_back(byte, child);
        nodes_.emplace_back();
      }
      node = static_cast<std::size_t>(child);
    }
    nodes_[node].token = static_cast<int>(token_index);
    first_byte_[static_cast<unsigned char>(content[0])] = true;
  }

  bool empty() const { return nodes_.empty(); }

  struct Match {
    std::size_t begin;
    std::size_t end;
    std::size_t token_index;
  };

  // The leftmost match starting at or after `from`, longest among those at that start.
  bool find(std::string_view text, std::size_t from, Match& match) const {
    if (nodes_.empty()) return false;
    for (std::size_t start = from; start < text.size(); ++start) {
      if (!first_byte_[static_cast<unsigned char>(text[start])]) continue;
      std::size_t node = 0;
      int best_token = -1;
      std::size_t best_end = 0;
      for (std::size_t i = start; i < text.size(); ++i) {
        int child = child_of(node, static_cast<unsigned char>(text[i]));
        if (child < 0) break;
        node = static_cast<std::size_t>(child);
        if (nodes_[node].token >= 0) {
          best_token = nodes_[node].token;
          best_end = i + 1;
        }
      }
      if (best_token >= 0) {
        match = {start, best_end, static_cast<std::size_t>(best_token)};
        return true;
      }
    }
    return false;
  }

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int>> children;
    int token = -1;
  };
  int child_of(std::size_t node, unsigned char byte) const {
    for (const auto& [label, child] : nodes_[node].children)
      if (label == byte) return child;
    return -1;
  }
  std::vector<Node> nodes_;
  bool first_byte_[256] = {};
};

std::atomic<std::uint64_t> next_tokenizer_uid{1};

// Per-thread state for encoding: scratch buffers that keep their capacity between calls, and
// the word cache of the tokenizer this thread used last.
struct EncodeScratch {
  std::uint64_t owner = 0;
  WordCache cache;
  std::string valid;
  std::string normalized;
  PreTokenized pre_tokenized;
  std::vector<TokenId> symbols;
};

EncodeScratch& encode_scratch() {
  thread_local EncodeScratch scratch;
  return scratch;
}

// Only short words are cached: long ones are rare repeats and would crowd out the rest.
constexpr std::size_t kMaxCachedWordBytes = 256;

}  // namespace

// ---------------------------------------------------------------------------------------------
// Impl

struct Tokenizer::Impl {
  std::string source;
  std::uint64_t uid = next_tokenizer_uid.fetch_add(1);

  // Per id (model vocabulary and added tokens): Hugging Face's token string, decoded bytes,
  // and flags.
  std::vector<std::string> token_of_id;
  std::vector<std::string> bytes_of_id;
  enum Flag : unsigned char { kExists = 1, kSpecial = 2, kAdded = 4 };
  std::vector<unsigned char> flags_of_id;
  std::size_t model_vocab_count = 0;

  std::unordered_map<std::string, TokenId> vocab;  // model vocabulary, token form -> id
  MergeTable merges;
  TokenId byte_ids[256];
  std::optional<TokenId> unknown_id;
  bool fuse_unknown = false;
  bool ignore_merges = false;
  std::unordered_map<std::string, TokenId> vocab_by_bytes;  // only filled for ignore_merges

  std::vector<AddedToken> added;
  std::unordered_map<std::string, std::size_t> added_by_content;
  AddedTokenTrie raw_trie;         // added tokens with normalized = false
  AddedTokenTrie normalized_trie;  // normalized = true, matched after normalization

  Normalizer normalizer;
  PreTokenizer pre_tokenizer;
  std::vector<TokenId> prefix_ids;  // post-processor template around a single sequence
  std::vector<TokenId> suffix_ids;

  bool valid_id(TokenId id) const {
    return id >= 0 && static_cast<std::size_t>(id) < flags_of_id.size() &&
           (flags_of_id[static_cast<std::size_t>(id)] & kExists);
  }

  void encode(std::string_view text, std::vector<TokenId>& ids, bool add_special_tokens) const;
  void encode_segment(std::string_view segment, EncodeScratch& scratch,
                      std::vector<TokenId>& ids) const;
  void encode_pre_tokenized(std::string_view text, EncodeScratch& scratch,
                            std::vector<TokenId>& ids) const;
  void encode_word(std::string_view word, EncodeScratch& scratch, std::vector<TokenId>& ids) const;

  template <typename OnText, typename OnToken>
  void split_added(const AddedTokenTrie& trie, std::string_view text, OnText&& on_text,
                   OnToken&& on_token) const;
};

// Hugging Face's AddedVocabulary::find_matches: cut `text` at added tokens, widening a match
// over surrounding whitespace for lstrip / rstrip and dropping single_word matches inside
// words.
template <typename OnText, typename OnToken>
void Tokenizer::Impl::split_added(const AddedTokenTrie& trie, std::string_view text,
                                  OnText&& on_text, OnToken&& on_token) const {
  if (trie.empty()) {
    on_text(text);
    return;
  }
  std::size_t emitted = 0;  // end of what has been handed out
  std::size_t search = 0;
  AddedTokenTrie::Match match;
  while (search < text.size() && trie.find(text, search, match)) {
    const AddedToken& token = added[match.token_index];
    std::size_t begin = match.begin;
    std::size_t end = match.end;
    search = end;
    if (token.single_word) {
      bool word_before =
          begin > 0 && is_word_character(code_point_at(text, previous_character(text, begin)));
      bool word_after = end < text.size() && is_word_character(code_point_at(text, end));
      if (word_before || word_after) continue;
    }
    if (token.lstrip) {
      while (begin > emitted) {
        std::size_t previous = previous_character(text, begin);
        if (!is_white_space(code_point_at(text, previous))) break;
        begin = previous;
      }
    }
    if (token.rstrip) {
      while (end < text.size()) {
        std::uint32_t code_point = 0;
        std::size_t length = decode_utf8_character(text, end, code_point);
        if (length == 0 || !is_white_space(code_point)) break;
        end += length;
      }
      search = end;
    }
    if (begin > emitted) on_text(text.substr(emitted, begin - emitted));
    on_token(token.id);
    emitted = end;
  }
  if (emitted < text.size()) on_text(text.substr(emitted));
}

void Tokenizer::Impl::encode(std::string_view text, std::vector<TokenId>& ids,
                             bool add_special_tokens) const {
  EncodeScratch& scratch = encode_scratch();
  if (scratch.owner != uid) {
    scratch.cache.clear();
    scratch.owner = uid;
  }
  std::string_view input = text;
  if (!is_valid_utf8(text)) {
    scratch.valid = to_valid_utf8(text);
    input = scratch.valid;
  }
  if (add_special_tokens) ids.insert(ids.end(), prefix_ids.begin(), prefix_ids.end());
  split_added(
      raw_trie, input, [&](std::string_view segment) { encode_segment(segment, scratch, ids); },
      [&](TokenId id) { ids.push_back(id); });
  if (add_special_tokens) ids.insert(ids.end(), suffix_ids.begin(), suffix_ids.end());
}

void Tokenizer::Impl::encode_segment(std::string_view segment, EncodeScratch& scratch,
                                     std::vector<TokenId>& ids) const {
  std::string_view normalized = normalizer.normalize(segment, scratch.normalized);
  split_added(
      normalized_trie, normalized,
      [&](std::string_view part) { encode_pre_tokenized(part, scratch, ids); },
      [&](TokenId id) { ids.push_back(id); });
}

void Tokenizer::Impl::encode_pre_tokenized(std::string_view text, EncodeScratch& scratch,
                                           std::vector<TokenId>& ids) const {
  pre_tokenizer.split(text, scratch.pre_tokenized);
  for (std::string_view piece : scratch.pre_tokenized.pieces) encode_word(piece, scratch, ids);
}

void Tokenizer::Impl::encode_word(std::string_view word, EncodeScratch& scratch,
                                  std::vector<TokenId>& ids) const {
  if (word.size() == 1) {
    TokenId id = byte_ids[static_cast<unsigned char>(word[0])];
    if (id >= 0) {
      ids.push_back(id);
    } else if (unknown_id) {
      ids.push_back(*unknown_id);
    }
    return;
  }
  if (ignore_merges) {
    auto found = vocab_by_bytes.find(std::string(word));
    if (found != vocab_by_bytes.end()) {
      ids.push_back(found->second);
      return;
    }
  }
  std::uint64_t hash = WordCache::hash(word);
  const TokenId* cached = nullptr;
  std::size_t cached_count = 0;
  if (scratch.cache.find(word, hash, cached, cached_count)) {
    ids.insert(ids.end(), cached, cached + cached_count);
    return;
  }
  std::vector<TokenId>& symbols = scratch.symbols;
  symbols.clear();
  for (char c : word) {
    TokenId id = byte_ids[static_cast<unsigned char>(c)];
    if (id >= 0) {
      symbols.push_back(id);
    } else if (unknown_id) {
      // Bytes missing from the vocabulary become the unknown token, fused when asked to.
      if (!(fuse_unknown && !symbols.empty() && symbols.back() == *unknown_id))
        symbols.push_back(*unknown_id);
    }
  }
  bpe_merge(merges, symbols);
  ids.insert(ids.end(), symbols.begin(), symbols.end());
  if (word.size() <= kMaxCachedWordBytes)
    scratch.cache.insert(word, hash, symbols.data(), symbols.size());
}

// ---------------------------------------------------------------------------------------------
// Loading

namespace {

// Ids index dense tables, so a file's ids are bounded: 2^24 - 1 is 64 times the largest
// vocabulary in use (Qwen: 151,665 ids), and a stray 4e9 fails here instead of in resize().
constexpr long long kMaxTokenId = (1 << 24) - 1;

class Loader {
 public:
  explicit Loader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& what) const { throw_input_error(source_, 0, what); }

  std::shared_ptr<Tokenizer::Impl> load(const std::string& json_text) {
    Json root = io::parse_json(json_text, source_);
    if (!root.is_object()) fail("expected a JSON object");
    auto impl = std::make_shared<Tokenizer::Impl>();
    impl->source = source_;
    try {
      load_model(root, *impl);
      impl->normalizer = Normalizer::from_json(root.value("normalizer", Json()));
      impl->pre_tokenizer = PreTokenizer::from_json(root.value("pre_tokenizer", Json()));
      if (!impl->pre_tokenizer.has_byte_level())
        fail("pre_tokenizer has no ByteLevel step: only byte-level BPE tokenizers are supported");
      check_decoder(root.value("decoder", Json()));
      load_added_tokens(root.value("added_tokens", Json::array()), *impl);
      load_post_processor(root.value("post_processor", Json()), *impl, impl->prefix_ids,
                          impl->suffix_ids);
      for (const auto* ids : {&impl->prefix_ids, &impl->suffix_ids})
        for (TokenId id : *ids)
          if (!impl->valid_id(id))
            fail("post_processor adds id " + std::to_string(id) + ", which names no token");
    } catch (const std::invalid_argument& error) {
      fail(error.what());
    } catch (const Json::exception& error) {
      fail(std::string("unexpected content: ") + error.what());
    }
    return impl;
  }

 private:
  void load_model(const Json& root, Tokenizer::Impl& impl) {
    auto model_it = root.find("model");
    if (model_it == root.end() || !model_it->is_object()) fail("missing \"model\" object");
    const Json& model = *model_it;
    // Older files omit "type"; Hugging Face then recognises a BPE model by its merges.
    std::string type = model.contains("type") && model["type"].is_string()
                           ? model["type"].get<std::string>()
                           : (model.contains("merges") ? "BPE" : "");
    if (type != "BPE")
      fail("unsupported model type \"" + type + "\": only byte-level BPE is supported");
    if (model.value("byte_fallback", false))
      fail("BPE with byte_fallback is not a byte-level BPE and is not supported");
    if (!model.value("dropout", Json()).is_null() && model["dropout"].get<double>() != 0.0)
      fail("BPE dropout is not supported");
    for (const char* affix : {"continuing_subword_prefix", "end_of_word_suffix"}) {
      Json value = model.value(affix, Json());
      if (!value.is_null() && !value.get<std::string>().empty())
        fail(std::string("BPE ") + affix + " is not supported");
    }
    impl.ignore_merges = model.value("ignore_merges", false);
    impl.fuse_unknown = model.value("fuse_unk", false);

    auto vocab_it = model.find("vocab");
    if (vocab_it == model.end() || !vocab_it->is_object()) fail("model has no \"vocab\" object");
    std::size_t size = 0;
    for (auto it = vocab_it->begin(); it != vocab_it->end(); ++it) {
      if (!it.value().is_number_integer() || it.value().get<long long>() < 0 ||
          it.value().get<long long>() > kMaxTokenId)
        fail("vocab entry \"" + it.key() + "\" has no valid id (0 to " +
             std::to_string(kMaxTokenId) + ")");
      size = std::max<std::size_t>(size, it.value().get<std::size_t>() + 1);
    }
    impl.token_of_id.resize(size);
    impl.bytes_of_id.resize(size);
    impl.flags_of_id.assign(size, 0);
    impl.vocab.reserve(vocab_it->size());
    for (auto it = vocab_it->begin(); it != vocab_it->end(); ++it) {
      auto id = it.value().get<TokenId>();
      impl.vocab.emplace(it.key(), id);
      impl.token_of_id[id] = it.key();
      impl.bytes_of_id[id] = bytes_of_token(it.key());
      impl.flags_of_id[id] = Tokenizer::Impl::kExists;
    }
    impl.model_vocab_count = impl.vocab.size();
    for (int byte = 0; byte < 256; ++byte) {
      auto found = impl.vocab.find(token_of_bytes(std::string(1, static_cast<char>(byte))));
      impl.byte_ids[byte] = found == impl.vocab.end() ? -1 : found->second;
    }
    if (impl.ignore_merges) {
      impl.vocab_by_bytes.reserve(impl.vocab.size());
      for (const auto& [token, id] : impl.vocab)
        impl.vocab_by_bytes.emplace(bytes_of_token(token), id);
    }
    Json unknown = model.value("unk_token", Json());
    if (!unknown.is_null()) {
      auto found = impl.vocab.find(unknown.get<std::string>());
      if (found == impl.vocab.end()) fail("unk_token is not in the vocabulary");
      impl.unknown_id = found->second;
    }
    load_merges(model, impl);
  }

  void load_merges(const Json& model, Tokenizer::Impl& impl) {
    auto merges_it = model.find("merges");
    if (merges_it == model.end() || !merges_it->is_array()) fail("model has no \"merges\" list");
    impl.merges.reserve(merges_it->size());
    std::int32_t rank = 0;
    for (const Json& entry : *merges_it) {
      std::string left;
      std::string right;
      if (entry.is_string()) {
        // Legacy form "left right": exactly one space, as Hugging Face requires.
        const std::string& line = entry.get_ref<const std::string&>();
        std::size_t space = line.find(' ');
        if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos)
          fail("merge " + std::to_string(rank) + " \"" + line + "\" is not \"left right\"");
        left = line.substr(0, space);
        right = line.substr(space + 1);
      } else if (entry.is_array() && entry.size() == 2 && entry[0].is_string() &&
                 entry[1].is_string()) {
        left = entry[0].get<std::string>();
        right = entry[1].get<std::string>();
      } else {
        fail("merge " + std::to_string(rank) + " is neither \"left right\" nor [left, right]");
      }
      auto left_id = impl.vocab.find(left);
      auto right_id = impl.vocab.find(right);
      auto merged_id = impl.vocab.find(left + right);
      if (left_id == impl.vocab.end() || right_id == impl.vocab.end() ||
          merged_id == impl.vocab.end()) {
        fail("merge " + std::to_string(rank) + " (\"" + left + "\", \"" + right +
             "\") uses a token missing from the vocabulary");
      }
      impl.merges.add(left_id->second, right_id->second, rank, merged_id->second);
      ++rank;
    }
  }

  // Decoding is the ByteLevel decoder's byte mapping; any other decoder would change the text.
  void check_decoder(const Json& decoder) {
    if (decoder.is_object() && decoder.value("type", std::string()) == "ByteLevel") return;
    std::string type = decoder.is_object() ? decoder.value("type", std::string("?")) : "null";
    fail("unsupported decoder \"" + type + "\": a byte-level BPE needs the ByteLevel decoder");
  }

  void load_added_tokens(const Json& list, Tokenizer::Impl& impl) {
    if (!list.is_array()) fail("\"added_tokens\" must be a list");
    for (const Json& entry : list) {
      if (!entry.is_object() || !entry.contains("content") || !entry["content"].is_string() ||
          !entry.contains("id") || !entry["id"].is_number_integer() ||
          entry["id"].get<long long>() < 0 || entry["id"].get<long long>() > kMaxTokenId)
        fail("added token without \"content\" and a valid \"id\" (0 to " +
             std::to_string(kMaxTokenId) + ")");
      AddedToken token;
      token.content = entry["content"].get<std::string>();
      if (token.content.empty()) continue;  // Hugging Face ignores empty added tokens
      // A token already in the vocabulary keeps its vocabulary id, as in Hugging Face.
      auto in_vocab = impl.vocab.find(token.content);
      token.id = in_vocab != impl.vocab.end() ? in_vocab->second : entry["id"].get<TokenId>();
      token.special = entry.value("special", false);
      token.lstrip = entry.value("lstrip", false);
      token.rstrip = entry.value("rstrip", false);
      token.normalized = entry.value("normalized", !token.special);
      token.single_word = entry.value("single_word", false);
      if (impl.added_by_content.count(token.content)) continue;

      auto index = static_cast<std::size_t>(token.id);
      if (index >= impl.flags_of_id.size()) {
        impl.token_of_id.resize(index + 1);
        impl.bytes_of_id.resize(index + 1);
        impl.flags_of_id.resize(index + 1, 0);
      }
      impl.token_of_id[index] = token.content;
      impl.bytes_of_id[index] = bytes_of_token(token.content);
      impl.flags_of_id[index] = Tokenizer::Impl::kExists | Tokenizer::Impl::kAdded |
                                (token.special ? Tokenizer::Impl::kSpecial : 0);
      impl.added_by_content.emplace(token.content, impl.added.size());
      impl.added.push_back(std::move(token));
    }
    for (std::size_t i = 0; i < impl.added.size(); ++i) {
      const AddedToken& token = impl.added[i];
      if (token.normalized) {
        std::string storage;
        impl.normalized_trie.add(impl.normalizer.normalize(token.content, storage), i);
      } else {
        impl.raw_trie.add(token.content, i);
      }
    }
  }

  TokenId id_of(const std::string& content, const Tokenizer::Impl& impl) {
    auto added = impl.added_by_content.find(content);
    if (added != impl.added_by_content.end()) return impl.added[added->second].id;
    auto found = impl.vocab.find(content);
    if (found == impl.vocab.end()) fail("post_processor token \"" + content + "\" is unknown");
    return found->second;
  }

  // The single-sequence template of the post-processor as ids before and after the text.
  void load_post_processor(const Json& node, const Tokenizer::Impl& impl,
                           std::vector<TokenId>& prefix, std::vector<TokenId>& suffix) {
    if (node.is_null()) return;
    std::string type = node.value("type", std::string());
    if (type == "ByteLevel") return;
    if (type == "Sequence") {
      for (const Json& child : node.value("processors", Json::array())) {
        std::vector<TokenId> inner_prefix;
        std::vector<TokenId> inner_suffix;
        load_post_processor(child, impl, inner_prefix, inner_suffix);
        prefix.insert(prefix.begin(), inner_prefix.begin(), inner_prefix.end());
        suffix.insert(suffix.end(), inner_suffix.begin(), inner_suffix.end());
      }
      return;
    }
    if (type == "BertProcessing" || type == "RobertaProcessing") {
      prefix.push_back(node.at("cls").at(1).get<TokenId>());
      suffix.push_back(node.at("sep").at(1).get<TokenId>());
      return;
    }
    if (type == "TemplateProcessing") {
      bool after_sequence = false;
      const Json& specials = node.value("special_tokens", Json::object());
      for (const Json& item : node.at("single")) {
        if (item.contains("Sequence")) {
          after_sequence = true;
          continue;
        }
        std::string name = item.at("SpecialToken").at("id").get<std::string>();
        std::vector<TokenId> ids;
        if (specials.contains(name)) {
          ids = specials[name].at("ids").get<std::vector<TokenId>>();
        } else {
          ids.push_back(id_of(name, impl));
        }
        auto& target = after_sequence ? suffix : prefix;
        target.insert(target.end(), ids.begin(), ids.end());
      }
      return;
    }
    fail("unsupported post_processor type \"" + type + "\"");
  }

  std::string source_;
};

std::string tokenizer_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (fs::is_directory(path, error)) {
    fs::path file = fs::path(path) / "tokenizer.json";
    if (!fs::exists(file, error)) throw_input_error(path, 0, "folder has no tokenizer.json");
    return file.string();
  }
  return path;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Tokenizer

Tokenizer Tokenizer::load(const std::string& path) {
  std::string file = tokenizer_file(path);
  return from_json(io::read_file(file), file);
}

Tokenizer Tokenizer::from_json(const std::string& json_text, const std::string& source) {
  return Tokenizer(Loader(source).load(json_text));
}

std::vector<TokenId> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  std::vector<TokenId> ids;
  ids.reserve(text.size() / 3 + 4);
  impl_->encode(text, ids, add_special_tokens);
  return ids;
}

void Tokenizer::encode_append(std::string_view text, std::vector<TokenId>& ids,
                              bool add_special_tokens) const {
  impl_->encode(text, ids, add_special_tokens);
}

std::string Tokenizer::decode(const std::vector<TokenId>& ids, bool skip_special_tokens) const {
  return decode(ids.data(), ids.size(), skip_special_tokens);
}

std::string Tokenizer::decode(const TokenId* ids, std::size_t count,
                              bool skip_special_tokens) const {
  std::string bytes;
  for (std::size_t i = 0; i < count; ++i) {
    TokenId id = ids[i];
    if (!impl_->valid_id(id)) continue;
    if (skip_special_tokens && is_special(id)) continue;
    bytes += impl_->bytes_of_id[static_cast<std::size_t>(id)];
  }
  if (is_valid_utf8(bytes)) return bytes;
  return to_valid_utf8(bytes);
}

std::string_view Tokenizer::token_bytes(TokenId id) const {
  if (!impl_->valid_id(id)) return {};
  return impl_->bytes_of_id[static_cast<std::size_t>(id)];
}

std::optional<TokenId> Tokenizer::token_to_id(std::string_view token) const {
  std::string key(token);
  auto added = impl_->added_by_content.find(key);
  if (added != impl_->added_by_content.end()) return impl_->added[added->second].id;
  auto found = impl_->vocab.find(key);
  if (found == impl_->vocab.end()) return std::nullopt;
  return found->second;
}

std::optional<std::string> Tokenizer::id_to_token(TokenId id) const {
  if (!impl_->valid_id(id)) return std::nullopt;
  return impl_->token_of_id[static_cast<std::size_t>(id)];
}

std::size_t Tokenizer::vocab_size() const {
  return impl_->flags_of_id.size();
}

std::size_t Tokenizer::model_vocab_size() const {
  return impl_->model_vocab_count;
}

const std::vector<AddedToken>& Tokenizer::added_tokens() const {
  return impl_->added;
}

std::optional<TokenId> Tokenizer::added_token_id(std::string_view content) const {
  auto found = impl_->added_by_content.find(std::string(content));
  if (found == impl_->added_by_content.end()) return std::nullopt;
  return impl_->added[found->second].id;
}

bool Tokenizer::is_special(TokenId id) const {
  return impl_->valid_id(id) && (impl_->flags_of_id[static_cast<std::size_t>(id)] & Impl::kSpecial);
}

bool Tokenizer::is_valid_id(TokenId id) const {
  return impl_->valid_id(id);
}

const std::string& Tokenizer::source() const {
  return impl_->source;
}

// ---------------------------------------------------------------------------------------------
// IncrementalDecoder

IncrementalDecoder::IncrementalDecoder(Tokenizer tokenizer, bool skip_special_tokens)
    : tokenizer_(std::move(tokenizer)), skip_special_tokens_(skip_special_tokens) {}

std::string IncrementalDecoder::push(TokenId id) {
  return push(&id, 1);
}

std::string IncrementalDecoder::push(const TokenId* ids, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    if (skip_special_tokens_ && tokenizer_.is_special(ids[i])) continue;
    pending_ += tokenizer_.token_bytes(ids[i]);
  }
  consumed_ += count;
  std::size_t held = incomplete_utf8_suffix(pending_);
  std::string_view complete(pending_.data(), pending_.size() - held);
  std::string out = to_valid_utf8(complete);
  pending_.erase(0, complete.size());
  text_ += out;
  return out;
}

std::string IncrementalDecoder::update(const std::vector<TokenId>& all_ids) {
  if (all_ids.size() < consumed_)
    throw std::invalid_argument("IncrementalDecoder::update: the id list shrank");
  return push(all_ids.data() + consumed_, all_ids.size() - consumed_);
}

std::string IncrementalDecoder::finish() {
  std::string out = to_valid_utf8(pending_);
  text_ += out;
  pending_.clear();
  return out;
}

void IncrementalDecoder::reset() {
  pending_.clear();
  text_.clear();
  consumed_ = 0;
}

}  // namespace empo::text
