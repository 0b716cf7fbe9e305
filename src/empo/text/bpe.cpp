#include "empo/text/bpe.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace empo::text {

// ---------------------------------------------------------------------------------------------
// MergeTable

namespace {

// Fibonacci hashing: the high bits of key * 2^64/phi spread consecutive ids well.
constexpr std::uint64_t kFibonacci = 0x9E3779B97F4A7C15ull;

}  // namespace

std::size_t MergeTable::slot_of(std::uint64_t key) const {
  std::uint64_t mixed = (key ^ (key >> 29)) * kFibonacci;
  return static_cast<std::size_t>(mixed >> shift_);
}

void MergeTable::reserve(std::size_t count) {
  std::size_t capacity = 16;
  while (capacity < count * 2) capacity *= 2;
  if (capacity <= slots_.size()) return;
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(capacity, Slot{kEmpty, {0, 0}});
  shift_ = 64;
  for (std::size_t c = capacity; c > 1; c >>= 1) --shift_;
  count_ = 0;
  for (const Slot& slot : old) {
    if (slot.key == kEmpty) continue;
    std::size_t index = slot_of(slot.key);
    while (slots_[index].key != kEmpty) index = (index + 1) & (slots_.size() - 1);
    slots_[index] = slot;
    ++count_;
  }
}

void MergeTable::grow() {
  reserve(slots_.empty() ? 8 : slots_.size());
}

void MergeTable::add(TokenId left, TokenId right, std::int32_t rank, TokenId merged) {
  if ((count_ + 1) * 2 > slots_.size()) grow();
  std::uint64_t key = pack(left, right);
  std::size_t index = slot_of(key);
  while (slots_[index].key != kEmpty && slots_[index].key != key)
    index = (index + 1) & (slots_.size() - 1);
  if (slots_[index].key == kEmpty) ++count_;
  slots_[index] = Slot{key, {rank, merged}};
}

const MergeTable::Merge* MergeTable::find(TokenId left, TokenId right) const {
  if (slots_.empty()) return nullptr;
  std::uint64_t key = pack(left, right);
  std::size_t index = slot_of(key);
  while (true) {
    const Slot& slot = slots_[index];
    if (slot.key == key) return &slot.merge;
    if (slot.key == kEmpty) return nullptr;
    index = (index + 1) & (slots_.size() - 1);
  }
}

// ---------------------------------------------------------------------------------------------
// Merging

namespace {

constexpr std::int32_t kNoMerge = std::numeric_limits<std::int32_t>::max();

// Flat array: ranks[i] is the rank of the pair (symbols[i], symbols[i + 1]). Each step scans
// for the lowest rank (strict <, so the leftmost wins ties) and closes the gap.
void merge_linear(const MergeTable& merges, std::vector<TokenId>& symbols) {
  std::size_t count = symbols.size();
  TokenId* ids = symbols.data();
  std::int32_t ranks[128];
  TokenId merged_ids[128];
  auto set_pair = [&](std::size_t i) {
    const MergeTable::Merge* merge = merges.find(ids[i], ids[i + 1]);
    ranks[i] = merge ? merge->rank : kNoMerge;
    merged_ids[i] = merge ? merge->merged : 0;
  };
  for (std::size_t i = 0; i + 1 < count; ++i) set_pair(i);
  while (count > 1) {
    std::size_t best = 0;
    std::int32_t best_rank = ranks[0];
    for (std::size_t i = 1; i + 1 < count; ++i) {
      if (ranks[i] < best_rank) {
        best_rank = ranks[i];
        best = i;
      }
    }
    if (best_rank == kNoMerge) break;
    ids[best] = merged_ids[best];
    // Remove symbol best + 1 and the pair that started at it.
    std::size_t tail = count - best - 2;
    std::memmove(ids + best + 1, ids + best + 2, tail * sizeof(TokenId));
    if (tail > 0) {
      std::memmove(ranks + best + 1, ranks + best + 2, (tail - 1) * sizeof(std::int32_t));
      std::memmove(merged_ids + best + 1, merged_ids + best + 2, (tail - 1) * sizeof(TokenId));
    }
    --count;
    if (best > 0) set_pair(best - 1);
    if (best + 1 < count) set_pair(best);
  }
  symbols.resize(count);
}

// Linked list of symbols plus a min-heap of candidate pairs keyed by (rank, position). A heap
// entry is stale when its left symbol was merged away or its pair changed; the merged id
// identifies the pair, because two different pairs at one position cannot merge into the same
// string.
struct Candidate {
  std::int32_t rank;
  std::uint32_t position;
  TokenId merged;
};

struct CandidateAfter {
  bool operator()(const Candidate& a, const Candidate& b) const {
    if (a.rank != b.rank) return a.rank > b.rank;
    return a.position > b.position;
  }
};

void merge_heap(const MergeTable& merges, std::vector<TokenId>& symbols) {
  thread_local std::vector<std::int32_t> next;
  thread_local std::vector<std::int32_t> previous;
  thread_local std::vector<char> alive;
  thread_local std::vector<Candidate> heap;
  std::size_t count = symbols.size();
  next.resize(count);
  previous.resize(count);
  alive.assign(count, 1);
  heap.clear();
  for (std::size_t i = 0; i < count; ++i) {
    next[i] = i + 1 < count ? static_cast<std::int32_t>(i + 1) : -1;
    previous[i] = static_cast<std::int32_t>(i) - 1;
  }
  auto push_pair = [&](std::int32_t left) {
    std::int32_t right = next[left];
    if (right < 0) return;
    const MergeTable::Merge* merge = merges.find(symbols[left], symbols[right]);
    if (!merge) return;
    heap.push_back({merge->rank, static_cast<std::uint32_t>(left), merge->merged});
    std::push_heap(heap.begin(), heap.end(), CandidateAfter{});
  };
  for (std::size_t i = 0; i + 1 < count; ++i) push_pair(static_cast<std::int32_t>(i));
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), CandidateAfter{});
    Candidate top = heap.back();
    heap.pop_back();
    auto left = static_cast<std::int32_t>(top.position);
    if (!alive[left] || next[left] < 0) continue;
    std::int32_t right = next[left];
    const MergeTable::Merge* current = merges.find(symbols[left], symbols[right]);
    if (!current || current->merged != top.merged) continue;
    symbols[left] = top.merged;
    alive[right] = 0;
    next[left] = next[right];
    if (next[right] >= 0) previous[next[right]] = left;
    if (previous[left] >= 0) push_pair(previous[left]);
    push_pair(left);
  }
  std::size_t kept = 0;
  for (std::size_t i = 0; i < count; ++i)
    if (alive[i]) symbols[kept++] = symbols[i];
  symbols.resize(kept);
}

}  // namespace

void bpe_merge(const MergeTable& merges, std::vector<TokenId>& symbols, std::size_t linear_limit) {
  if (symbols.size() < 2) return;
  if (symbols.size() <= std::min<std::size_t>(linear_limit, 128)) {
    merge_linear(merges, symbols);
  } else {
    merge_heap(merges, symbols);
  }
}

// ---------------------------------------------------------------------------------------------
// WordCache

std::uint64_t WordCache::hash(std::string_view word) {
  // 8 bytes at a time, each step a multiply and a rotate: fast for the short words of text.
  std::uint64_t value = 0x243F6A8885A308D3ull ^ word.size();
  const char* data = word.data();
  std::size_t remaining = word.size();
  while (remaining >= 8) {
    std::uint64_t chunk;
    std::memcpy(&chunk, data, 8);
    value = (value ^ chunk) * kFibonacci;
    value ^= value >> 32;
    data += 8;
    remaining -= 8;
  }
  if (remaining > 0) {
    std::uint64_t chunk = 0;
    std::memcpy(&chunk, data, remaining);
    value = (value ^ chunk) * kFibonacci;
    value ^= value >> 32;
  }
  value *= 0xBF58476D1CE4E5B9ull;
  value ^= value >> 31;
  return value | 1;
}

WordCache::WordCache(std::size_t max_entries, std::size_t max_bytes)
    : max_entries_(max_entries), max_bytes_(max_bytes) {
  std::size_t capacity = 16;
  while (capacity < max_entries_ * 2) capacity *= 2;
  slots_.resize(capacity);
}

bool WordCache::find(std::string_view word, std::uint64_t hash, const TokenId*& ids,
                     std::size_t& count) const {
  std::size_t mask = slots_.size() - 1;
  std::size_t index = static_cast<std::size_t>(hash) & mask;
  while (true) {
    const Slot& slot = slots_[index];
    if (slot.hash == 0) return false;
    if (slot.hash == hash && slot.key_length == word.size() &&
        std::memcmp(keys_.data() + slot.key_offset, word.data(), word.size()) == 0) {
      ids = ids_.data() + slot.ids_offset;
      count = slot.ids_count;
      return true;
    }
    index = (index + 1) & mask;
  }
}

void WordCache::insert(std::string_view word, std::uint64_t hash, const TokenId* ids,
                       std::size_t count) {
  if (entries_ >= max_entries_ || keys_.size() + word.size() > max_bytes_ ||
      (ids_.size() + count) * sizeof(TokenId) > max_bytes_) {
    clear();
  }
  std::size_t mask = slots_.size() - 1;
  std::size_t index = static_cast<std::size_t>(hash) & mask;
  while (slots_[index].hash != 0) index = (index + 1) & mask;
  Slot& slot = slots_[index];
  slot.hash = hash;
  slot.key_offset = static_cast<std::uint32_t>(keys_.size());
  slot.key_length = static_cast<std::uint32_t>(word.size());
  slot.ids_offset = static_cast<std::uint32_t>(ids_.size());
  slot.ids_count = static_cast<std::uint32_t>(count);
  keys_.insert(keys_.end(), word.begin(), word.end());
  ids_.insert(ids_.end(), ids, ids + count);
  ++entries_;
}

void WordCache::clear() {
  std::fill(slots_.begin(), slots_.end(), Slot{});
  keys_.clear();
  ids_.clear();
  entries_ = 0;
}

}  // namespace empo::text
