#pragma once
// Continuous batching for rollouts: the whole rollout batch is a queue of (prompt, sample)
// jobs, and a row that finishes hands its place to the next job at once. A job is admitted
// while the blocks of its prompt (when not cached yet) and of its first positions fit the
// pool; a prompt's blocks are shared by its live samples and released with the last one.
// Rows that outgrow the pool are preempted newest first and start over later (each sample
// owns its random stream, so starting over draws the same tokens).
#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "empo/generate/paged_cache.h"

namespace empo::generate {

struct Job {
  int64_t prompt = 0;
  int64_t sample = 0;
};

struct LiveRow {
  Job job;
  int64_t id = 0;  // unique, in admission order
  std::vector<int64_t> own_blocks;
  int64_t generated = 0;  // tokens recorded (and fed) so far
};

class RolloutScheduler {
 public:
  // Jobs are queued prompt-major: prompt 0's samples 0..G-1, then prompt 1's, ...
  RolloutScheduler(std::vector<int64_t> prompt_lengths, int64_t samples_per_prompt,
                   int64_t max_rows, BlockAllocator& allocator);

  // Moves queued jobs into free rows (appended to rows()) while the pool holds their prompt's
  // blocks (when not cached), `lookahead` positions for them, and one more block of headroom
  // for every live row. Returns the prompts cached by this call: they need prefill.
  std::vector<int64_t> admit(int64_t lookahead);

  // Gives every live row room for `steps` more positions, preempting the newest rows while
  // the pool is short. Returns how many rows were preempted.
  int64_t reserve(int64_t steps);

  // Releases row `index` (and its prompt's blocks once no row or job needs them).
  void finish_row(size_t index);

  std::vector<LiveRow>& rows() { return rows_; }
  const std::vector<LiveRow>& rows() const { return rows_; }
  SequenceBlocks blocks(const LiveRow& row) const;
  const std::vector<int64_t>& prompt_blocks(int64_t prompt) const;
  int64_t prompt_length(int64_t prompt) const { return lengths_[prompt]; }
  bool done() const { return queue_.empty() && rows_.empty(); }
  int64_t max_rows() const { return max_rows_; }
  int64_t preemptions() const { return preemptions_; }

 private:
  struct PromptState {
    std::vector<int64_t> blocks;  // empty: not cached
    int64_t live_rows = 0;
    int64_t queued_jobs = 0;
  };
  int64_t shortfall(const LiveRow& row, int64_t steps) const;
  void release_prompt_if_unused(int64_t prompt);
  void drop_idle_prompts_except(int64_t prompt);

  std::vector<int64_t> lengths_;
  int64_t max_rows_;
  BlockAllocator& allocator_;
  std::deque<Job> queue_;
  std::vector<LiveRow> rows_;
  std::vector<PromptState> prompts_;
  int64_t next_id_ = 0;
  int64_t preemptions_ = 0;
};

}  // namespace empo::generate
