#include "empo/dist/process_group.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <unistd.h>

#include <thread>

#include "empo/io/error.h"

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

// Buckets of 3 elements: gradients cut over several buckets, packed several to a bucket, a bf16
// gradient staged through float32, float32 ones summed in their own storage.
TEST(ProcessGroup, BucketedGradientSumsEqualTheWholeSums) {
  const std::string store = test::temp_dir("dist-buckets") + "/store";
  at::Tensor results[2];
  const void* storage_before[2] = {nullptr, nullptr};
  const void* storage_after[2] = {nullptr, nullptr};
  auto worker = [&](int rank) {
    auto group = Group::with_file_store(store, rank, 2);
    auto big = at::zeros({7}).requires_grad_(true);
    big.mutable_grad() = at::arange(7, at::kFloat) * (rank + 1);
    auto small = at::zeros({2}).requires_grad_(true);
    small.mutable_grad() = at::full({2}, 0.5 * (rank + 1));
    auto low = at::zeros({4}, at::kBFloat16).requires_grad_(true);
    low.mutable_grad() = at::full({4}, rank + 1.0, at::kBFloat16);
    storage_before[rank] = big.grad().data_ptr();
    all_reduce_gradients(group, {big, small, low}, /*bucket_elements=*/3);
    storage_after[rank] = big.grad().data_ptr();
    EXPECT_EQ(low.grad().scalar_type(), at::kBFloat16);
    results[rank] = at::cat({big.grad(), small.grad(), low.grad().to(at::kFloat)});
    group.barrier();
  };
  std::thread first(worker, 0), second(worker, 1);
  first.join();
  second.join();
  auto expected = at::cat({at::arange(7, at::kFloat) * 3, at::full({2}, 1.5), at::full({4}, 3.0)});
  for (int rank = 0; rank < 2; ++rank) {
    EXPECT_TRUE(results[rank].equal(expected)) << rank;
    EXPECT_EQ(storage_before[rank], storage_after[rank]);  // summed in place
  }
}

TEST(ProcessGroup, ReduceToOneRankAndBroadcastFromOne) {
  // Over a TCPStore served by rank 0, as a multi-machine launch rendezvouses (MASTER_ADDR).
  const int port = 20000 + static_cast<int>(getpid() % 20000);
  at::Tensor reduced[2], broadcast[2];
  auto worker = [&](int rank) {
    auto group = Group::with_tcp_store("127.0.0.1", port, rank, 2);
    reduced[rank] = at::full({3}, rank + 1.0);
    group.reduce_sum_to(reduced[rank], 1);
    // bf16 travels as raw bytes: rank 0's values arrive exactly.
    broadcast[rank] = at::full({2}, rank == 0 ? 1.5 : -7.0).to(at::kBFloat16);
    group.broadcast_from(broadcast[rank], 0);
  };
  std::thread first(worker, 0), second(worker, 1);
  first.join();
  second.join();
  EXPECT_TRUE(reduced[1].equal(at::full({3}, 3.0)));
  for (int rank = 0; rank < 2; ++rank)
    EXPECT_TRUE(broadcast[rank].equal(at::full({2}, 1.5).to(at::kBFloat16)));
}

TEST(ProcessGroup, ListensOnTheAddressThatReachesTheMaster) {
  EXPECT_EQ(local_address_towards("127.0.0.1"), "127.0.0.1");
  const std::string loopback = local_address_towards("localhost");
  EXPECT_TRUE(loopback.rfind("127.", 0) == 0 || loopback == "::1") << loopback;
  // A non-loopback address of this machine is reached from that same address: the one ranks on
  // other machines connect to. A two-rank group whose master is there listens there too.
  std::string own;
  ifaddrs* interfaces = nullptr;
  ASSERT_EQ(getifaddrs(&interfaces), 0);
  for (ifaddrs* entry = interfaces; entry && own.empty(); entry = entry->ifa_next) {
    if (!entry->ifa_addr || entry->ifa_addr->sa_family != AF_INET ||
        (entry->ifa_flags & IFF_LOOPBACK) || !(entry->ifa_flags & IFF_UP))
      continue;
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(entry->ifa_addr)->sin_addr, text,
              sizeof(text));
    own = text;
  }
  freeifaddrs(interfaces);
  if (own.empty()) GTEST_SKIP() << "this machine has no non-loopback IPv4 interface";
  EXPECT_EQ(local_address_towards(own), own);
  const int port = 20000 + static_cast<int>((getpid() + 7) % 20000);
  std::vector<double> sums[2];
  auto worker = [&](int rank) {
    sums[rank] = Group::with_tcp_store(own, port, rank, 2).all_reduce_sum({1.0 + rank});
  };
  std::thread first(worker, 0), second(worker, 1);
  first.join();
  second.join();
  EXPECT_EQ(sums[0], std::vector<double>{3.0});
  EXPECT_EQ(sums[1], std::vector<double>{3.0});
  EXPECT_THROW(local_address_towards("no-such-host.invalid"), InputError);
}

TEST(ProcessGroup, RankDeviceSpreadsCudaRanksOverGpus) {
  EXPECT_EQ(rank_device(at::Device(at::kCPU)), at::Device(at::kCPU));
  EXPECT_EQ(rank_device(at::Device(at::kCUDA, 3)), at::Device(at::kCUDA, 3));
  setenv("LOCAL_RANK", "2", 1);
  EXPECT_EQ(rank_device(at::Device(at::kCUDA)), at::Device(at::kCUDA, 2));
  unsetenv("LOCAL_RANK");
  EXPECT_EQ(rank_device(at::Device(at::kCUDA)), at::Device(at::kCUDA, 0));
}

TEST(ProcessGroup, BareCudaMeansTheLocalRanksGpuAndAnIndexStays) {
  setenv("LOCAL_RANK", "3", 1);
  EXPECT_EQ(rank_device(at::Device("cuda")), at::Device(at::kCUDA, 3));
  EXPECT_EQ(rank_device(at::Device("cuda:1")), at::Device(at::kCUDA, 1));
  EXPECT_EQ(rank_device(at::Device("cpu")), at::Device(at::kCPU));
  // Off CUDA nothing is set; a GPU this process does not see names itself and LOCAL_RANK.
  EXPECT_EQ(use_rank_device(at::Device("cpu")), at::Device(at::kCPU));
  if (static_cast<int64_t>(torch::cuda::device_count()) <= 3) {
    try {
      use_rank_device(at::Device("cuda"));
      ADD_FAILURE() << "cuda:3 accepted with fewer than 4 GPUs";
    } catch (const InputError& error) {
      EXPECT_NE(std::string(error.what()).find("cuda:3 (LOCAL_RANK 3)"), std::string::npos)
          << error.what();
    }
  }
  setenv("LOCAL_RANK", "x", 1);
  EXPECT_THROW(rank_device(at::Device("cuda")), InputError);
  unsetenv("LOCAL_RANK");
}

}  // namespace empo::dist
