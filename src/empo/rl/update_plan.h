#pragma once
// How one rollout batch is cut into optimizer steps, accumulation chunks and micro-batches: a
// pure function of the number of groups this process kept and the config, so every slicing
// rule is tested alone. Samples are group-major (group q's G samples at [q*G, (q+1)*G)).
//
// Groups are spread evenly: step s of S takes groups [s*Q/S, (s+1)*Q/S), so when filtering
// leaves fewer groups than S full steps need, the late steps get fewer (possibly none) rather
// than running past the end. Inside a step the same rule spreads its groups over the
// gradient_accumulation_steps chunks, and a chunk is cut into micro-batches of at most
// micro_batch_size samples (they never straddle a chunk: bnpo normalises per chunk).
#include <cstddef>
#include <vector>

namespace empo::rl {

struct MicroBatch {
  std::size_t first = 0;  // samples [first, last)
  std::size_t last = 0;
  std::size_t chunk = 0;  // accumulation chunk within its step
};

struct StepPlan {
  std::size_t first = 0;  // samples [first, last); empty when the step got no group
  std::size_t last = 0;
  std::vector<std::size_t> chunk_samples;  // samples of each accumulation chunk
  std::vector<MicroBatch> micro_batches;   // in order, covering [first, last)
  std::size_t samples() const { return last - first; }
};

struct UpdatePlanSettings {
  std::size_t group_size = 1;        // G
  std::size_t steps = 1;             // steps_per_generation
  std::size_t chunks = 1;            // gradient_accumulation_steps
  std::size_t micro_batch_size = 0;  // samples per forward/backward; 0: a whole chunk
};

// One StepPlan per optimizer step (settings.steps of them, every one present even if empty).
std::vector<StepPlan> plan_updates(std::size_t groups, const UpdatePlanSettings& settings);

}  // namespace empo::rl
