#pragma once
// Multi-process training over torch c10d (Gloo on CPU), launched like torchrun: every process
// gets RANK and WORLD_SIZE, and either EMPO_DIST_FILE (a FileStore path shared by all ranks on
// one machine) or MASTER_ADDR/MASTER_PORT (a TCPStore served by rank 0). Without WORLD_SIZE (or
// with 1) the group is a single process and every collective is a no-op.
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "empo/model/torch_compat.h"

namespace empo::dist {

class Group {
 public:
  static Group single();
  static Group from_environment();
  // A FileStore rendezvous (tests, `empo train --nproc`).
  static Group with_file_store(const std::string& path, int rank, int world_size);

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  bool is_main() const { return rank_ == 0; }
  bool is_distributed() const { return world_size_ > 1; }

  // In-place sums over all ranks; tensors must have the same shapes on every rank.
  void all_reduce_sum(std::vector<at::Tensor>& tensors) const;
  std::vector<double> all_reduce_sum(const std::vector<double>& values) const;
  double all_reduce_max(double value) const;
  double all_reduce_min(double value) const;
  void barrier() const;

 private:
  int rank_ = 0;
  int world_size_ = 1;
  std::shared_ptr<compat::GlooBase> group_;
};

// Sums the gradients of `parameters` over all ranks in one flat buffer (a parameter without a
// gradient contributes zeros, so every rank takes part in the same collective).
void all_reduce_gradients(const Group& group, const std::vector<at::Tensor>& parameters);

}  // namespace empo::dist
