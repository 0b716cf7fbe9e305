#include "empo/dist/process_group.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if EMPO_HAS_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <cstdlib>
#include <sstream>

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

// Keeps the intrusive pointer alive inside a shared_ptr so the header needs no c10d types.
template <typename Backend>
std::shared_ptr<compat::GlooBase> hold(c10::intrusive_ptr<Backend> backend) {
  return std::shared_ptr<compat::GlooBase>(
      backend.get(), [backend](compat::GlooBase*) mutable { backend.reset(); });
}

// Where Gloo listens: GLOO_SOCKET_IFNAME's interfaces (comma-separated, as torch reads it),
// else `address`.
std::shared_ptr<compat::GlooBase> gloo_group(const c10::intrusive_ptr<c10d::Store>& store, int rank,
                                             int world_size, const std::string& address) {
  auto options = c10d::ProcessGroupGloo::Options::create();
  const char* interfaces = std::getenv("GLOO_SOCKET_IFNAME");
  if (interfaces && *interfaces) {
    std::stringstream names(interfaces);
    for (std::string name; std::getline(names, name, ',');)
      if (!name.empty())
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(name));
  } else {
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(address));
  }
  return hold(c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world_size, options));
}

// NCCL for CUDA tensors, where the libtorch has it (the CUDA wheel); else Gloo carries them.
std::shared_ptr<compat::GlooBase> nccl_group(const c10::intrusive_ptr<c10d::Store>& store, int rank,
                                             int world_size) {
#if EMPO_HAS_NCCL
  auto options = c10d::ProcessGroupNCCL::Options::create();
  return hold(c10::make_intrusive<c10d::ProcessGroupNCCL>(
      c10::make_intrusive<c10d::PrefixStore>("nccl", store), rank, world_size, options));
#else
  (void)store, (void)rank, (void)world_size;
  return nullptr;
#endif
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

Group Group::connect(const c10::intrusive_ptr<c10d::Store>& store, int rank, int world_size,
                     const std::string& address, bool cuda) {
  Group group;
  if (world_size <= 1) return group;
  group.rank_ = rank;
  group.world_size_ = world_size;
  group.group_ =
      gloo_group(c10::make_intrusive<c10d::PrefixStore>("gloo", store), rank, world_size, address);
  if (cuda) group.device_group_ = nccl_group(store, rank, world_size);
  return group;
}

Group Group::with_file_store(const std::string& path, int rank, int world_size, bool cuda) {
  check_rank(rank, world_size);
  // A FileStore is shared through one machine's file system: every rank is local.
  return connect(c10::make_intrusive<c10d::FileStore>(path, world_size), rank, world_size,
                 "127.0.0.1", cuda);
}

Group Group::with_tcp_store(const std::string& host, int port, int rank, int world_size,
                            bool cuda) {
  check_rank(rank, world_size);
  if (world_size <= 1) return single();
  c10d::TCPStoreOptions options;
  options.port = static_cast<uint16_t>(port);
  // Under torchrun the agent of node 0 already serves the store on MASTER_PORT (as it tells
  // torch's own workers); otherwise rank 0 serves it.
  const char* agent_store = std::getenv("TORCHELASTIC_USE_AGENT_STORE");
  options.isServer = rank == 0 && !(agent_store && std::string(agent_store) == "True");
  options.numWorkers = static_cast<size_t>(world_size);
  return connect(c10::make_intrusive<c10d::TCPStore>(host, options), rank, world_size,
                 local_address_towards(host), cuda);
}

Group Group::from_environment(bool cuda) {
  const int world_size = env_int("WORLD_SIZE", 1);
  if (world_size <= 1) return single();
  const int rank = env_int("RANK", 0);
  check_rank(rank, world_size);
  if (const char* path = std::getenv("EMPO_DIST_FILE"); path && *path)
    return with_file_store(path, rank, world_size, cuda);
  const char* host = std::getenv("MASTER_ADDR");
  if (!host || !*host)
    throw InputError(
        "WORLD_SIZE > 1 needs EMPO_DIST_FILE or MASTER_ADDR/MASTER_PORT for the rendezvous");
  return with_tcp_store(host, env_int("MASTER_PORT", 29500), rank, world_size, cuda);
}

compat::GlooBase& Group::backend_for(const at::Tensor& tensor) const {
  return tensor.is_cuda() && device_group_ ? *device_group_ : *group_;
}

void Group::all_reduce_sum(std::vector<at::Tensor>& tensors) const {
  if (!is_distributed() || tensors.empty()) return;
  backend_for(tensors[0]).allreduce(tensors)->wait();
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

void Group::reduce_sum_to(at::Tensor& tensor, int root) const {
  if (!is_distributed()) return;
  std::vector<at::Tensor> buffer{tensor};
  c10d::ReduceOptions options;
  options.rootRank = root;
  options.reduceOp = c10d::ReduceOp::SUM;
  backend_for(tensor).reduce(buffer, options)->wait();
}

void Group::broadcast_from(at::Tensor& tensor, int root) const {
  if (!is_distributed()) return;
  // Raw bytes: Gloo of 1.13 carries neither bf16 nor int16, every backend carries uint8.
  std::vector<at::Tensor> buffer{tensor.reshape({-1}).view(at::kByte)};
  c10d::BroadcastOptions options;
  options.rootRank = root;
  backend_for(tensor).broadcast(buffer, options)->wait();
}

void Group::barrier() const {
  if (is_distributed()) group_->barrier()->wait();
}

std::string local_address_towards(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), "29500", &hints, &found) != 0 || !found)
    throw InputError("MASTER_ADDR \"" + host + "\" does not resolve to an address");
  std::string address;
  for (addrinfo* entry = found; entry && address.empty(); entry = entry->ai_next) {
    // connect() on a datagram socket only picks the route (and with it the source address).
    const int socket_fd = ::socket(entry->ai_family, SOCK_DGRAM, 0);
    if (socket_fd < 0) continue;
    sockaddr_storage local{};
    socklen_t length = sizeof(local);
    if (::connect(socket_fd, entry->ai_addr, entry->ai_addrlen) == 0 &&
        ::getsockname(socket_fd, reinterpret_cast<sockaddr*>(&local), &length) == 0) {
      char text[INET6_ADDRSTRLEN] = {};
      const void* raw =
          local.ss_family == AF_INET
              ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&local)->sin_addr)
              : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr);
      if (inet_ntop(local.ss_family, raw, text, sizeof(text))) address = text;
    }
    ::close(socket_fd);
  }
  freeaddrinfo(found);
  if (address.empty())
    throw InputError("no network route from this machine to MASTER_ADDR \"" + host + "\"");
  return address;
}

at::Device rank_device(const at::Device& configured) {
  if (!configured.is_cuda() || configured.has_index()) return configured;
  return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(env_int("LOCAL_RANK", 0)));
}

at::Device use_rank_device(const at::Device& configured) {
  const at::Device device = rank_device(configured);
  if (!device.is_cuda()) return device;
  const auto visible = static_cast<int64_t>(torch::cuda::device_count());
  if (device.index() >= visible)
    throw InputError("device " + device.str() + " (LOCAL_RANK " +
                     std::to_string(env_int("LOCAL_RANK", 0)) + "): this process sees " +
                     std::to_string(visible) + " GPU(s)");
  compat::set_current_cuda_device(device);
  return device;
}

void all_reduce_gradients(const Group& group, const std::vector<at::Tensor>& parameters,
                          int64_t bucket_elements) {
  if (!group.is_distributed()) return;
  at::NoGradGuard no_grad;
  std::vector<Span> spans;
  std::vector<at::Tensor> flat;  // each parameter's gradient as a flat view
  for (size_t i = 0; i < parameters.size(); ++i) {
    auto& grad = const_cast<at::Tensor&>(parameters[i]).mutable_grad();
    // A float32 gradient of a bf16 parameter (rl::GradAccumulator) stays float32.
    if (!grad.defined()) grad = at::zeros_like(parameters[i], at::MemoryFormat::Contiguous);
    if (!grad.is_contiguous()) grad = grad.contiguous();
    flat.push_back(grad.view({-1}));
    spans.push_back({i, 0, parameters[i].numel(), 0});
  }
  at::Tensor staging;  // (bucket_elements) float32, made at the first bucket that needs it
  for (const Bucket& bucket : plan_buckets(spans, bucket_elements)) {
    const Span& first = bucket.pieces.front();
    if (bucket.pieces.size() == 1 && flat[first.tensor].scalar_type() == at::kFloat) {
      std::vector<at::Tensor> in_place{flat[first.tensor].narrow(0, first.offset, first.length)};
      group.all_reduce_sum(in_place);
      continue;
    }
    if (!staging.defined() || staging.device() != flat[first.tensor].device())
      staging = at::empty({bucket_elements}, flat[first.tensor].options().dtype(at::kFloat));
    int64_t filled = 0;
    for (const Span& piece : bucket.pieces) {
      staging.narrow(0, filled, piece.length)
          .copy_(flat[piece.tensor].narrow(0, piece.offset, piece.length));
      filled += piece.length;
    }
    std::vector<at::Tensor> buffer{staging.narrow(0, 0, bucket.elements)};
    group.all_reduce_sum(buffer);
    filled = 0;
    for (const Span& piece : bucket.pieces) {
      flat[piece.tensor]
          .narrow(0, piece.offset, piece.length)
          .copy_(staging.narrow(0, filled, piece.length));
      filled += piece.length;
    }
  }
}

}  // namespace empo::dist
