#include "empo/dist/process_group.h"

#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <cstdlib>

#include "empo/io/error.h"

namespace empo::dist {

namespace {

int env_int(const char* name, int fallback) {
  const char* value = std::getenv(name);
  if (!value || !*value) return fallback;
  char* end = nullptr;
  long parsed = std::strtol(value, &end, 10);
  if (*end != '\0' || parsed < 0)
    throw InputError(std::string("$") + name + " must be a non-negative integer");
  return static_cast<int>(parsed);
}

std::shared_ptr<compat::GlooBase> gloo_group(const c10::intrusive_ptr<c10d::Store>& store, int rank,
                                             int world_size) {
  auto options = c10d::ProcessGroupGloo::Options::create();
  options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
  auto group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world_size, options);
  // Keep the intrusive pointer alive inside a shared_ptr so the header needs no c10d types.
  return std::shared_ptr<compat::GlooBase>(group.get(),
                                           [group](compat::GlooBase*) mutable { group.reset(); });
}

void check_rank(int rank, int world_size) {
  if (rank >= world_size)
    throw InputError("RANK " + std::to_string(rank) + " is not below WORLD_SIZE " +
                     std::to_string(world_size));
}

}  // namespace

Group Group::single() {
  return Group();
}

Group Group::with_file_store(const std::string& path, int rank, int world_size) {
  check_rank(rank, world_size);
  Group group;
  group.rank_ = rank;
  group.world_size_ = world_size;
  if (world_size > 1)
    group.group_ =
        gloo_group(c10::make_intrusive<c10d::FileStore>(path, world_size), rank, world_size);
  return group;
}

Group Group::from_environment() {
  const int world_size = env_int("WORLD_SIZE", 1);
  if (world_size <= 1) return single();
  const int rank = env_int("RANK", 0);
  check_rank(rank, world_size);
  if (const char* path = std::getenv("EMPO_DIST_FILE"); path && *path)
    return with_file_store(path, rank, world_size);
  const char* host = std::getenv("MASTER_ADDR");
  if (!host || !*host)
    throw InputError(
        "WORLD_SIZE > 1 needs EMPO_DIST_FILE or MASTER_ADDR/MASTER_PORT for the rendezvous");
  c10d::TCPStoreOptions options;
  options.port = static_cast<uint16_t>(env_int("MASTER_PORT", 29500));
  options.isServer = rank == 0;
  options.numWorkers = static_cast<size_t>(world_size);
  Group group;
  group.rank_ = rank;
  group.world_size_ = world_size;
  group.group_ = gloo_group(c10::make_intrusive<c10d::TCPStore>(host, options), rank, world_size);
  return group;
}

void Group::all_reduce_sum(std::vector<at::Tensor>& tensors) const {
  if (!is_distributed() || tensors.empty()) return;
  group_->allreduce(tensors)->wait();
}

std::vector<double> Group::all_reduce_sum(const std::vector<double>& values) const {
  if (!is_distributed() || values.empty()) return values;
  std::vector<at::Tensor> buffer{at::tensor(values, at::kDouble)};
  all_reduce_sum(buffer);
  auto host = buffer[0].contiguous();
  return std::vector<double>(host.data_ptr<double>(), host.data_ptr<double>() + host.numel());
}

double Group::all_reduce_max(double value) const {
  if (!is_distributed()) return value;
  std::vector<at::Tensor> buffer{at::tensor({value}, at::kDouble)};
  c10d::AllreduceOptions options;
  options.reduceOp = c10d::ReduceOp::MAX;
  group_->allreduce(buffer, options)->wait();
  return buffer[0].item<double>();
}

double Group::all_reduce_min(double value) const {
  return -all_reduce_max(-value);
}

void Group::barrier() const {
  if (is_distributed()) group_->barrier()->wait();
}

void all_reduce_gradients(const Group& group, const std::vector<at::Tensor>& parameters) {
  if (!group.is_distributed()) return;
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> flat;
  for (const auto& parameter : parameters)
    flat.push_back(parameter.grad().defined()
                       ? parameter.grad().to(at::kFloat).reshape({-1})
                       : at::zeros({parameter.numel()}, parameter.options().dtype(at::kFloat)));
  std::vector<at::Tensor> buffer{at::cat(flat)};
  group.all_reduce_sum(buffer);
  int64_t offset = 0;
  for (const auto& parameter : parameters) {
    auto& grad = const_cast<at::Tensor&>(parameter).mutable_grad();
    // A float32 gradient of a bf16 parameter (rl::GradAccumulator) stays float32.
    auto slice = buffer[0]
                     .narrow(0, offset, parameter.numel())
                     .view(parameter.sizes())
                     .to(grad.defined() ? grad.scalar_type() : parameter.scalar_type());
    offset += parameter.numel();
    if (grad.defined())
      grad.copy_(slice);
    else
      grad = slice.clone();
  }
}

}  // namespace empo::dist
