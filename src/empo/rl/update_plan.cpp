#include "empo/rl/update_plan.h"

#include <algorithm>
#include <stdexcept>

namespace empo::rl {

namespace {

// Start of part `index` of `total` items split into `parts` near-equal parts.
std::size_t part_start(std::size_t total, std::size_t parts, std::size_t index) {
  return total * index / parts;
}

}  // namespace

std::vector<StepPlan> plan_updates(std::size_t groups, const UpdatePlanSettings& settings) {
  if (settings.group_size == 0 || settings.steps == 0 || settings.chunks == 0)
    throw std::logic_error("plan_updates: group_size, steps and chunks must be positive");
  const std::size_t G = settings.group_size;
  std::vector<StepPlan> plan(settings.steps);
  for (std::size_t s = 0; s < settings.steps; ++s) {
    StepPlan& step = plan[s];
    const std::size_t first_group = part_start(groups, settings.steps, s);
    const std::size_t step_groups = part_start(groups, settings.steps, s + 1) - first_group;
    step.first = first_group * G;
    step.last = step.first + step_groups * G;
    for (std::size_t c = 0; c < settings.chunks; ++c) {
      const std::size_t chunk_first = step.first + part_start(step_groups, settings.chunks, c) * G;
      const std::size_t chunk_last =
          step.first + part_start(step_groups, settings.chunks, c + 1) * G;
      step.chunk_samples.push_back(chunk_last - chunk_first);
      const std::size_t size =
          settings.micro_batch_size > 0 ? settings.micro_batch_size : chunk_last - chunk_first;
      for (std::size_t start = chunk_first; start < chunk_last; start += size)
        step.micro_batches.push_back({start, std::min(chunk_last, start + size), c});
    }
  }
  return plan;
}

}  // namespace empo::rl
