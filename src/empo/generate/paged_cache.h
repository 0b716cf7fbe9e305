#pragma once
// The rollout engine's bookkeeping of a paged KV cache (model::SlotPool): slots are handed out
// in blocks, so a row reserves only the blocks its tokens fill, and a prompt's blocks are
// shared by all its samples instead of being copied into each.
#include <cstdint>
#include <vector>

namespace empo::generate {

class BlockAllocator {
 public:
  // Block 0 is the scratch block: padded writes land in its first slot and padded reads name
  // it, so it is never handed out.
  static constexpr int64_t kScratchSlot = 0;

  BlockAllocator(int64_t num_blocks, int64_t block_size);

  int64_t num_blocks() const { return num_blocks_; }
  int64_t block_size() const { return block_size_; }
  int64_t free_blocks() const { return static_cast<int64_t>(free_.size()); }
  int64_t used_blocks() const { return num_blocks_ - 1 - free_blocks(); }
  int64_t peak_used_blocks() const { return peak_used_; }
  int64_t blocks_for(int64_t tokens) const { return (tokens + block_size_ - 1) / block_size_; }

  // Appends `count` blocks to `blocks`; false (and nothing taken) when fewer are free.
  bool allocate(int64_t count, std::vector<int64_t>& blocks);
  // Returns the blocks to the pool and empties `blocks`.
  void release(std::vector<int64_t>& blocks);

 private:
  int64_t num_blocks_;
  int64_t block_size_;
  std::vector<int64_t> free_;  // a min-heap: the lowest free block is handed out first
  int64_t peak_used_ = 0;
};

// A sample's positions: the prompt's (shared) blocks hold positions [0, prompt_length), the
// sample's own blocks hold the rest, from their first slot (a prompt's last block may be
// partly empty; it is never written after prefill).
struct SequenceBlocks {
  const std::vector<int64_t>* prompt_blocks = nullptr;
  int64_t prompt_length = 0;
  const std::vector<int64_t>* own_blocks = nullptr;

  // The pool slot of `position`; its block must exist.
  int64_t slot(int64_t position, int64_t block_size) const;
  // Positions the blocks have room for.
  int64_t capacity(int64_t block_size) const;
};

}  // namespace empo::generate
