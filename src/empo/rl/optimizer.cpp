#include "empo/rl/optimizer.h"

#include <cmath>

#include "empo/io/error.h"

namespace empo::rl {

AdamW::AdamW(std::vector<at::Tensor> parameters, const AdamWSettings& settings)
    : parameters_(std::move(parameters)), settings_(settings) {
  for (const auto& parameter : parameters_) {
    // Moments in float32 even for bf16 weights: bf16 moments lose small updates.
    exp_avg_.push_back(at::zeros(parameter.sizes(), parameter.options().dtype(at::kFloat)));
    exp_avg_sq_.push_back(at::zeros(parameter.sizes(), parameter.options().dtype(at::kFloat)));
    // Low-precision weights get a float32 master copy: at lr 1e-6 most AdamW steps are far
    // below bf16's resolution and would round away if applied to the bf16 weights directly.
    master_.push_back(parameter.scalar_type() == at::kFloat
                          ? at::Tensor()
                          : parameter.detach().to(at::kFloat).clone());
  }
}

namespace {

// Elements per foreach group: its denominators (sqrt of the second moments) are allocated at
// once, 256 MiB of float32 at most, instead of 4 bytes per parameter of the whole model.
constexpr int64_t kForeachElements = int64_t{1} << 26;

}  // namespace

void adamw_update(const std::vector<at::Tensor>& weights, const std::vector<at::Tensor>& grads,
                  const std::vector<at::Tensor>& exp_avg, const std::vector<at::Tensor>& exp_avg_sq,
                  const AdamWSettings& settings, double lr, int64_t step) {
  const double correction1 = 1.0 - std::pow(settings.beta1, static_cast<double>(step));
  const double correction2 = 1.0 - std::pow(settings.beta2, static_cast<double>(step));
  for (size_t first = 0; first < weights.size();) {
    size_t last = first;
    int64_t elements = 0;
    while (last < weights.size() &&
           (last == first || elements + weights[last].numel() <= kForeachElements))
      elements += weights[last++].numel();
    const size_t count = last - first;
    const at::TensorList w(weights.data() + first, count), g(grads.data() + first, count);
    const at::TensorList m(exp_avg.data() + first, count), v(exp_avg_sq.data() + first, count);
    if (settings.weight_decay != 0.0) at::_foreach_mul_(w, 1.0 - lr * settings.weight_decay);
    at::_foreach_mul_(m, settings.beta1);
    at::_foreach_add_(m, g, 1.0 - settings.beta1);
    at::_foreach_mul_(v, settings.beta2);
    at::_foreach_addcmul_(v, g, g, 1.0 - settings.beta2);
    auto denominators = at::_foreach_sqrt(v);
    at::_foreach_div_(denominators, std::sqrt(correction2));
    at::_foreach_add_(denominators, settings.epsilon);
    at::_foreach_addcdiv_(w, m, denominators, -lr / correction1);
    first = last;
  }
}

void AdamW::step(double lr) {
  at::NoGradGuard no_grad;
  ++steps_;
  std::vector<at::Tensor> weights, grads, exp_avg, exp_avg_sq;
  std::vector<size_t> updated;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const auto& parameter = parameters_[i];
    if (!parameter.grad().defined()) continue;
    weights.push_back(master_[i].defined() ? master_[i] : parameter);  // float32, in place
    grads.push_back(parameter.grad().to(at::kFloat));
    exp_avg.push_back(exp_avg_[i]);
    exp_avg_sq.push_back(exp_avg_sq_[i]);
    updated.push_back(i);
  }
  adamw_update(weights, grads, exp_avg, exp_avg_sq, settings_, lr, steps_);
  for (size_t i : updated)
    if (master_[i].defined()) parameters_[i].detach().copy_(master_[i]);
}

void AdamW::zero_grad() {
  for (auto& parameter : parameters_)
    if (parameter.grad().defined()) parameter.mutable_grad().reset();
}

std::map<std::string, at::Tensor> AdamW::state() const {
  std::map<std::string, at::Tensor> state;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    state["exp_avg." + std::to_string(i)] = exp_avg_[i];
    state["exp_avg_sq." + std::to_string(i)] = exp_avg_sq_[i];
    if (master_[i].defined()) state["master." + std::to_string(i)] = master_[i];
  }
  state["step"] = at::tensor({steps_}, at::kLong);
  return state;
}

void AdamW::load_state(const std::map<std::string, at::Tensor>& state) {
  at::NoGradGuard no_grad;
  auto get = [&](const std::string& name, const at::Tensor& like) {
    auto found = state.find(name);
    if (found == state.end() || !found->second.sizes().equals(like.sizes()))
      throw InputError("optimizer state: missing or mis-shaped \"" + name + "\"");
    return found->second;
  };
  for (size_t i = 0; i < parameters_.size(); ++i) {
    exp_avg_[i].copy_(get("exp_avg." + std::to_string(i), exp_avg_[i]));
    exp_avg_sq_[i].copy_(get("exp_avg_sq." + std::to_string(i), exp_avg_sq_[i]));
    if (master_[i].defined()) master_[i].copy_(get("master." + std::to_string(i), master_[i]));
  }
  auto step = state.find("step");
  if (step == state.end()) throw InputError("optimizer state: missing \"step\"");
  steps_ = step->second.item<int64_t>();
}

double clip_grad_norm(const std::vector<at::Tensor>& parameters, double max_norm) {
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> norms;  // one per parameter, on the device
  for (const auto& parameter : parameters)
    if (parameter.grad().defined()) norms.push_back(parameter.grad().to(at::kFloat).norm());
  if (norms.empty()) return 0.0;
  // One host read for the whole model: the norm of the per-parameter norms.
  const double norm = at::stack(norms).norm().item<double>();
  if (std::isfinite(norm) && max_norm > 0 && norm > max_norm) {
    const double scale = max_norm / (norm + 1e-6);  // torch's clip_grad_norm_ formula
    for (const auto& parameter : parameters)
      if (parameter.grad().defined()) parameter.grad().mul_(scale);
  }
  return norm;
}

UpdateOutcome guarded_step(AdamW& optimizer, const std::vector<at::Tensor>& parameters, double loss,
                           double max_norm, double lr) {
  UpdateOutcome outcome;
  outcome.grad_norm = clip_grad_norm(parameters, max_norm);
  outcome.applied = std::isfinite(loss) && std::isfinite(outcome.grad_norm);
  if (outcome.applied) optimizer.step(lr);
  optimizer.zero_grad();
  return outcome;
}

double scheduled_lr(double base_lr, LrSchedulerType type, long warmup_steps, long total_steps,
                    long step) {
  // transformers' schedules (get_*_schedule_with_warmup), evaluated at the number of
  // optimizer steps already taken: warmup starts from 0.
  if (type != LrSchedulerType::constant && step < warmup_steps)
    return base_lr * static_cast<double>(step) /
           static_cast<double>(std::max<long>(1, warmup_steps));
  const double progress = static_cast<double>(step - warmup_steps) /
                          static_cast<double>(std::max<long>(1, total_steps - warmup_steps));
  switch (type) {
    case LrSchedulerType::constant:
    case LrSchedulerType::constant_with_warmup:
      return base_lr;
    case LrSchedulerType::linear:
      return base_lr * std::max(0.0, 1.0 - progress);
    case LrSchedulerType::cosine:
      return base_lr * std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * progress)));
  }
  return base_lr;
}

}  // namespace empo::rl
