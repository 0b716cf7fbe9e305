#include "empo/generate/paged_cache.h"

#include <algorithm>
#include <functional>
#include <stdexcept>
#include <string>

namespace empo::generate {

BlockAllocator::BlockAllocator(int64_t num_blocks, int64_t block_size)
    : num_blocks_(num_blocks), block_size_(block_size) {
  if (num_blocks < 2 || block_size < 1)
    throw std::logic_error("a block pool needs the scratch block and one more, of >= 1 slot");
  for (int64_t block = 1; block < num_blocks; ++block) free_.push_back(block);
  std::make_heap(free_.begin(), free_.end(), std::greater<>());
}

bool BlockAllocator::allocate(int64_t count, std::vector<int64_t>& blocks) {
  if (count > free_blocks()) return false;
  for (int64_t i = 0; i < count; ++i) {
    std::pop_heap(free_.begin(), free_.end(), std::greater<>());
    blocks.push_back(free_.back());
    free_.pop_back();
  }
  peak_used_ = std::max(peak_used_, used_blocks());
  return true;
}

void BlockAllocator::release(std::vector<int64_t>& blocks) {
  for (int64_t block : blocks) {
    if (block <= 0 || block >= num_blocks_)
      throw std::logic_error("releasing block " + std::to_string(block) + " of a pool of " +
                             std::to_string(num_blocks_));
    free_.push_back(block);
    std::push_heap(free_.begin(), free_.end(), std::greater<>());
  }
  blocks.clear();
}

int64_t SequenceBlocks::slot(int64_t position, int64_t block_size) const {
  const auto& blocks = position < prompt_length ? *prompt_blocks : *own_blocks;
  const int64_t offset = position < prompt_length ? position : position - prompt_length;
  const auto block = static_cast<size_t>(offset / block_size);
  if (block >= blocks.size())
    throw std::logic_error("position " + std::to_string(position) + " has no block");
  return blocks[block] * block_size + offset % block_size;
}

int64_t SequenceBlocks::capacity(int64_t block_size) const {
  return prompt_length + static_cast<int64_t>(own_blocks->size()) * block_size;
}

}  // namespace empo::generate
