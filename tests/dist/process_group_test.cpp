#include "empo/dist/process_group.h"

#include <gtest/gtest.h>

#include <thread>

#include "test_support.h"

namespace empo::dist {

TEST(ProcessGroup, SingleProcessCollectivesAreIdentity) {
  auto group = Group::single();
  EXPECT_FALSE(group.is_distributed());
  EXPECT_EQ(group.all_reduce_sum(std::vector<double>{1.5, 2}), (std::vector<double>{1.5, 2}));
  EXPECT_EQ(group.all_reduce_max(3.0), 3.0);
}

TEST(ProcessGroup, TwoRanksSumMaxAndGradients) {
  // Two ranks in two threads of this process, over a real Gloo transport on loopback.
  const std::string store = test::temp_dir("dist") + "/store";
  std::vector<double> sums[2], maxima(2), minima(2);
  at::Tensor gradients[2];
  auto worker = [&](int rank) {
    auto group = Group::with_file_store(store, rank, 2);
    sums[rank] = group.all_reduce_sum({1.0 + rank, 10.0 * rank});
    maxima[rank] = group.all_reduce_max(rank + 0.5);
    minima[rank] = group.all_reduce_min(rank + 0.5);
    auto with_grad = at::zeros({2, 2}).requires_grad_(true);
    with_grad.mutable_grad() = at::full({2, 2}, rank + 1.0);
    auto without_grad = at::zeros({3}).requires_grad_(true);  // this rank has no gradient
    if (rank == 1) without_grad.mutable_grad() = at::ones({3});
    all_reduce_gradients(group, {with_grad, without_grad});
    gradients[rank] = at::cat({with_grad.grad().reshape({-1}), without_grad.grad()});
    group.barrier();
  };
  std::thread first(worker, 0), second(worker, 1);
  first.join();
  second.join();
  for (int rank = 0; rank < 2; ++rank) {
    EXPECT_EQ(sums[rank], (std::vector<double>{3.0, 10.0}));
    EXPECT_EQ(maxima[rank], 1.5);
    EXPECT_EQ(minima[rank], 0.5);
    EXPECT_TRUE(gradients[rank].equal(at::tensor({3.f, 3.f, 3.f, 3.f, 1.f, 1.f, 1.f})));
  }
}

}  // namespace empo::dist
