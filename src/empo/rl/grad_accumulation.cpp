#include "empo/rl/grad_accumulation.h"

namespace empo::rl {

GradAccumulator::GradAccumulator(std::vector<at::Tensor> parameters)
    : parameters_(std::move(parameters)), sums_(parameters_.size()) {}

void GradAccumulator::add_micro_batch() {
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    auto& parameter = parameters_[i];
    if (parameter.scalar_type() == at::kFloat || !parameter.grad().defined()) continue;
    if (parameter.grad().scalar_type() == at::kFloat)
      throw std::logic_error(
          "GradAccumulator: a float32 .grad() is still set (finish() ran "
          "before this backward without the optimizer's zero_grad)");
    if (sums_[i].defined())
      sums_[i].add_(parameter.grad());  // float32 += bf16: the bf16 value is exact in float32
    else
      sums_[i] = parameter.grad().to(at::kFloat);
    parameter.mutable_grad().reset();
  }
}

void GradAccumulator::finish() {
  add_micro_batch();  // a gradient left by a last backward without add_micro_batch() counts too
  for (size_t i = 0; i < parameters_.size(); ++i) {
    if (!sums_[i].defined()) continue;
    parameters_[i].mutable_grad() = std::move(sums_[i]);
    sums_[i] = at::Tensor();
  }
}

int64_t GradAccumulator::bytes() const {
  int64_t total = 0;
  for (const auto& sum : sums_)
    if (sum.defined()) total += sum.numel() * static_cast<int64_t>(sum.element_size());
  return total;
}

}  // namespace empo::rl
