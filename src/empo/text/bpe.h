#pragma once
// The byte-pair merge step of a BPE tokenizer, on token ids. Merges are applied in the order
// Hugging Face tokenizers applies them: repeatedly the adjacent pair of lowest rank, the
// leftmost one on ties, until no adjacent pair has a merge.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace empo::text {

using TokenId = std::int32_t;

// (left id, right id) -> (rank, merged id), an open-addressing table: the lookup runs once
// per adjacent pair and per merge, so it must not chase pointers.
class MergeTable {
 public:
  struct Merge {
    std::int32_t rank;
    TokenId merged;
  };

  void reserve(std::size_t count);
  // A pair added twice keeps the later rank, as a Rust HashMap built from the merges list does.
  void add(TokenId left, TokenId right, std::int32_t rank, TokenId merged);
  // nullptr when the pair has no merge.
  const Merge* find(TokenId left, TokenId right) const;
  std::size_t size() const { return count_; }

 private:
  struct Slot {
    std::uint64_t key;  // kEmpty when unused
    Merge merge;
  };
  static constexpr std::uint64_t kEmpty = ~std::uint64_t{0};
  static std::uint64_t pack(TokenId left, TokenId right) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) |
           static_cast<std::uint32_t>(right);
  }
  std::size_t slot_of(std::uint64_t key) const;
  void grow();

  std::vector<Slot> slots_;
  std::size_t count_ = 0;
  int shift_ = 64;
};

// Merges `symbols` in place. Words up to `linear_limit` symbols use a scan over a flat array
// (fastest for the short words that dominate text); longer ones use a heap over a linked list,
// which is O(n log n). Both give the same result; the limit is a parameter so tests can
// compare them.
void bpe_merge(const MergeTable& merges, std::vector<TokenId>& symbols,
               std::size_t linear_limit = 64);

// A bounded cache from a pre-token's bytes to its ids. When it is full it is emptied, which
// keeps memory fixed and costs only a few re-merges of frequent words.
class WordCache {
 public:
  explicit WordCache(std::size_t max_entries = 1 << 15, std::size_t max_bytes = 4 << 20);
  // Returns true and sets ids/count when `word` is cached.
  bool find(std::string_view word, std::uint64_t hash, const TokenId*& ids,
            std::size_t& count) const;
  void insert(std::string_view word, std::uint64_t hash, const TokenId* ids, std::size_t count);
  void clear();
  std::size_t size() const { return entries_; }

  static std::uint64_t hash(std::string_view word);

 private:
  struct Slot {
    std::uint64_t hash = 0;  // 0 when unused (hashes are forced odd)
    std::uint32_t key_offset = 0;
    std::uint32_t key_length = 0;
    std::uint32_t ids_offset = 0;
    std::uint32_t ids_count = 0;
  };
  std::size_t max_entries_;
  std::size_t max_bytes_;
  std::size_t entries_ = 0;
  std::vector<Slot> slots_;
  std::vector<char> keys_;
  std::vector<TokenId> ids_;
};

}  // namespace empo::text
