#pragma once
// Group-normalised advantages (GRPO): A_i = (r_i - mean of its group) / (std + eps), where the
// std is the group's (scale_rewards = group), the whole batch's (batch) or 1 (none). The std
// is the unbiased one, as torch.std computes it in TRL.
#include <vector>

#include "empo/rl/config.h"

namespace empo::rl {

inline constexpr double kAdvantageEpsilon = 1e-4;
// A group whose reward std is below this has every reward equal (zero advantage).
inline constexpr double kZeroStdThreshold = 1e-12;

struct Advantages {
  std::vector<double> values;         // (Q x G), group-major like the rewards
  std::vector<bool> zero_std_groups;  // (Q): every reward of the group equal
};

// rewards.size() must be a multiple of group_size.
// batch_std (scale_rewards = batch) is the std over every process's rewards; negative: the
// std of `rewards`.
Advantages compute_advantages(const std::vector<double>& rewards, int group_size,
                              ScaleRewards scale, double batch_std = -1.0);

double unbiased_std(const double* values, size_t count);

// The unbiased std (divisor n - 1) of n values known by their sum and sum of squares: what
// scale_rewards = batch divides by once the sums are reduced over every process. 0 for n < 2.
double pooled_std(double sum, double squares, double count);

}  // namespace empo::rl
