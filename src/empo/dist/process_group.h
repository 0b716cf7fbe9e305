#pragma once
// Multi-process training over torch c10d, launched like torchrun: every process gets RANK and
// WORLD_SIZE, and either EMPO_DIST_FILE (a FileStore path shared by all ranks on one machine) or
// MASTER_ADDR/MASTER_PORT (a TCPStore served by rank 0). Without WORLD_SIZE (or with 1) the
// group is a single process and every collective is a no-op.
//
// Host tensors go over Gloo. Gloo listens on the interface named by GLOO_SOCKET_IFNAME, else on
// the address this machine uses to reach MASTER_ADDR (loopback for a FileStore), so ranks on
// other machines can connect. In a build with NCCL (the CUDA wheel), a group made for CUDA also
// opens an NCCL communicator, and collectives of CUDA tensors go through it.
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "empo/dist/buckets.h"
#include "empo/model/torch_compat.h"

namespace empo::dist {

class Group {
 public:
  static Group single();
  // cuda: the ranks train on CUDA devices (NCCL where compiled in).
  static Group from_environment(bool cuda = false);
  // A FileStore rendezvous (tests, `empo train --nproc`).
  static Group with_file_store(const std::string& path, int rank, int world_size,
                               bool cuda = false);
  // A TCPStore rendezvous served by rank 0 at host:port (multi-machine runs).
  static Group with_tcp_store(const std::string& host, int port, int rank, int world_size,
                              bool cuda = false);

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  bool is_main() const { return rank_ == 0; }
  bool is_distributed() const { return world_size_ > 1; }

  // In-place sums over all ranks; tensors must have the same shapes on every rank.
  void all_reduce_sum(std::vector<at::Tensor>& tensors) const;
  std::vector<double> all_reduce_sum(const std::vector<double>& values) const;
  double all_reduce_max(double value) const;
  double all_reduce_min(double value) const;
  // In place: `root` receives the sum over all ranks (the others' tensors are left undefined in
  // content); a contiguous tensor of the same shape on every rank.
  void reduce_sum_to(at::Tensor& tensor, int root) const;
  // In place: every rank receives `root`'s values, bit for bit; a contiguous tensor.
  void broadcast_from(at::Tensor& tensor, int root) const;
  void barrier() const;

 private:
  // Gloo over `store` listening on `address`, plus NCCL for `cuda` where compiled in.
  static Group connect(const c10::intrusive_ptr<c10d::Store>& store, int rank, int world_size,
                       const std::string& address, bool cuda);

  compat::GlooBase& backend_for(const at::Tensor& tensor) const;

  int rank_ = 0;
  int world_size_ = 1;
  std::shared_ptr<compat::GlooBase> group_;         // Gloo: host tensors
  std::shared_ptr<compat::GlooBase> device_group_;  // NCCL: CUDA tensors; null without NCCL
};

// The local address this machine uses to reach `host` (a name or an address): the source
// address of a route to it, found without sending anything. Throws InputError naming `host`
// when it does not resolve.
std::string local_address_towards(const std::string& host);

// The device this rank trains on: a bare "cuda" becomes cuda:LOCAL_RANK in a process group, so
// that the ranks of one machine use one GPU each.
at::Device rank_device(const at::Device& configured);

// rank_device(configured), made the process's current CUDA device when it is one. Call it at
// start, before the process group and before any CUDA work: NCCL, index-less CUDA tensors and
// the caching allocator then use the rank's GPU, and no rank opens a context on GPU 0.
at::Device use_rank_device(const at::Device& configured);

// Sums the gradients of `parameters` over all ranks, bucket by bucket (buckets.h): a bucket
// that is one run of a float32 gradient is reduced in place; the others go through one reused
// float32 staging buffer of at most bucket_elements, so no copy of all gradients is made. A
// parameter without a gradient gets a zero one (in its own dtype) and takes part, so every rank
// runs the same collectives. Sums are float32 whatever the gradients' dtype.
void all_reduce_gradients(const Group& group, const std::vector<at::Tensor>& parameters,
                          int64_t bucket_elements = kBucketElements);

}  // namespace empo::dist
