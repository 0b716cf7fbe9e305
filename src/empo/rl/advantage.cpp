#include "empo/rl/advantage.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace empo::rl {

double unbiased_std(const double* values, size_t count) {
  if (count < 2) return 0.0;
  double mean = 0;
  for (size_t i = 0; i < count; ++i) mean += values[i];
  mean /= static_cast<double>(count);
  double squares = 0;
  for (size_t i = 0; i < count; ++i) squares += (values[i] - mean) * (values[i] - mean);
  return std::sqrt(squares / static_cast<double>(count - 1));
}

double pooled_std(double sum, double squares, double count) {
  if (count < 2) return 0.0;
  const double mean = sum / count;
  return std::sqrt(std::max(0.0, (squares - count * mean * mean) / (count - 1)));
}

Advantages compute_advantages(const std::vector<double>& rewards, int group_size,
                              ScaleRewards scale, double batch_std) {
  if (group_size < 1 || rewards.size() % group_size != 0)
    throw std::logic_error("compute_advantages: rewards are not whole groups");
  const size_t groups = rewards.size() / group_size;
  if (batch_std < 0) batch_std = unbiased_std(rewards.data(), rewards.size());
  Advantages result;
  result.values.resize(rewards.size());
  for (size_t q = 0; q < groups; ++q) {
    const double* group = rewards.data() + q * group_size;
    double mean = 0;
    for (int j = 0; j < group_size; ++j) mean += group[j];
    mean /= group_size;
    const double group_std = unbiased_std(group, group_size);
    result.zero_std_groups.push_back(group_std < kZeroStdThreshold);
    const double divisor = scale == ScaleRewards::group   ? group_std + kAdvantageEpsilon
                           : scale == ScaleRewards::batch ? batch_std + kAdvantageEpsilon
                                                          : 1.0;
    for (int j = 0; j < group_size; ++j)
      result.values[q * group_size + j] = (group[j] - mean) / divisor;
  }
  return result;
}

}  // namespace empo::rl
