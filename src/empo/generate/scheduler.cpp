#include "empo/generate/scheduler.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace empo::generate {

RolloutScheduler::RolloutScheduler(std::vector<int64_t> prompt_lengths, int64_t samples_per_prompt,
                                   int64_t max_rows, BlockAllocator& allocator)
    : lengths_(std::move(prompt_lengths)),
      max_rows_(std::max<int64_t>(1, max_rows)),
      allocator_(allocator),
      prompts_(lengths_.size()) {
  for (size_t prompt = 0; prompt < lengths_.size(); ++prompt) {
    for (int64_t sample = 0; sample < samples_per_prompt; ++sample)
      queue_.push_back({static_cast<int64_t>(prompt), sample});
    prompts_[prompt].queued_jobs = samples_per_prompt;
  }
}

SequenceBlocks RolloutScheduler::blocks(const LiveRow& row) const {
  return {&prompts_[row.job.prompt].blocks, lengths_[row.job.prompt], &row.own_blocks};
}

const std::vector<int64_t>& RolloutScheduler::prompt_blocks(int64_t prompt) const {
  return prompts_[prompt].blocks;
}

int64_t RolloutScheduler::shortfall(const LiveRow& row, int64_t steps) const {
  // Positions written by the next `steps` tokens: up to prompt + generated + steps.
  const int64_t needed = allocator_.blocks_for(row.generated + steps);
  return std::max<int64_t>(0, needed - static_cast<int64_t>(row.own_blocks.size()));
}

std::vector<int64_t> RolloutScheduler::admit(int64_t lookahead) {
  std::vector<int64_t> cached;
  int64_t reserved = 0;  // blocks live rows will take before the pool may run short
  for (const auto& row : rows_) reserved += shortfall(row, lookahead) + 1;
  while (!queue_.empty() && static_cast<int64_t>(rows_.size()) < max_rows_) {
    const Job job = queue_.front();
    auto& prompt = prompts_[job.prompt];
    const int64_t prompt_need =
        prompt.blocks.empty() ? allocator_.blocks_for(lengths_[job.prompt]) : 0;
    const int64_t own_need = allocator_.blocks_for(lookahead);
    if (prompt_need + own_need + reserved > allocator_.free_blocks()) {
      if (!rows_.empty()) break;
      // Alone in the pool: prompts cached for preempted jobs further back give way.
      drop_idle_prompts_except(job.prompt);
      if (prompt_need + own_need > allocator_.free_blocks())
        throw std::logic_error("the block pool cannot hold one sample of prompt " +
                               std::to_string(job.prompt));
    }
    if (prompt_need > 0) {
      allocator_.allocate(prompt_need, prompt.blocks);
      cached.push_back(job.prompt);
    }
    queue_.pop_front();
    prompt.queued_jobs -= 1;
    prompt.live_rows += 1;
    LiveRow row;
    row.job = job;
    row.id = next_id_++;
    allocator_.allocate(own_need, row.own_blocks);
    rows_.push_back(std::move(row));
    reserved += 1;
  }
  return cached;
}

int64_t RolloutScheduler::reserve(int64_t steps) {
  int64_t preempted = 0;
  for (size_t index = 0; index < rows_.size(); ++index) {
    while (true) {
      const int64_t need = shortfall(rows_[index], steps);
      if (allocator_.allocate(need, rows_[index].own_blocks)) break;
      if (rows_.size() == 1)
        throw std::logic_error("the block pool cannot hold one sample of prompt " +
                               std::to_string(rows_[0].job.prompt));
      // The newest row starts over later; its job goes back to the front of the queue.
      auto newest = std::max_element(rows_.begin(), rows_.end(),
                                     [](const auto& a, const auto& b) { return a.id < b.id; });
      const bool self = static_cast<size_t>(newest - rows_.begin()) == index;
      const Job job = newest->job;
      allocator_.release(newest->own_blocks);
      prompts_[job.prompt].live_rows -= 1;
      prompts_[job.prompt].queued_jobs += 1;
      queue_.push_front(job);
      const size_t newest_index = static_cast<size_t>(newest - rows_.begin());
      rows_.erase(newest);
      ++preempted;
      if (self) {
        --index;  // the loop's ++index revisits this position
        break;
      }
      if (newest_index < index) --index;
    }
  }
  preemptions_ += preempted;
  return preempted;
}

void RolloutScheduler::finish_row(size_t index) {
  const int64_t prompt = rows_[index].job.prompt;
  allocator_.release(rows_[index].own_blocks);
  rows_.erase(rows_.begin() + static_cast<std::ptrdiff_t>(index));
  prompts_[prompt].live_rows -= 1;
  release_prompt_if_unused(prompt);
}

void RolloutScheduler::release_prompt_if_unused(int64_t prompt) {
  auto& state = prompts_[prompt];
  if (state.live_rows == 0 && state.queued_jobs == 0) allocator_.release(state.blocks);
}

void RolloutScheduler::drop_idle_prompts_except(int64_t keep) {
  for (size_t prompt = 0; prompt < prompts_.size(); ++prompt)
    if (static_cast<int64_t>(prompt) != keep && prompts_[prompt].live_rows == 0)
      allocator_.release(prompts_[prompt].blocks);
}

}  // namespace empo::generate
