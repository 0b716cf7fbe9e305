#include "empo/rl/zero_optimizer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <thread>

#include "empo/io/error.h"
#include "test_support.h"

namespace empo::rl {

namespace {

// Shapes chosen so that ranges cut through a parameter: 20 values, ranks of 2 own [0, 10) and
// [10, 20), ranks of 3 own [0, 7), [7, 14), [14, 20).
const std::vector<std::vector<int64_t>> kShapes = {{3, 3}, {5}, {2, 3}};
const AdamWSettings kSettings{0.9, 0.99, 1e-8, 0.1};
constexpr double kMaxNorm = 0.5;  // below the gradients' norm: clipping takes part
constexpr double kLr = 0.01;

std::vector<at::Tensor> start_parameters(at::ScalarType dtype) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(7);
  std::vector<at::Tensor> parameters;
  for (const auto& shape : kShapes)
    parameters.push_back(at::randn(shape, generator).to(dtype).requires_grad_(true));
  return parameters;
}

std::vector<at::Tensor> copies(const std::vector<at::Tensor>& parameters) {
  std::vector<at::Tensor> copied;
  for (const auto& parameter : parameters)
    copied.push_back(parameter.detach().clone().requires_grad_(true));
  return copied;
}

// Rank `rank`'s float32 gradient of parameter i at `step` (the trainer's .grad() after
// GradAccumulator::finish is float32 for every parameter dtype).
at::Tensor local_gradient(int rank, int step, size_t i) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(1000 * rank + 10 * step + i);
  return at::randn(kShapes[i], generator);
}

// What a single process sees: the sum of `ranks` ranks' gradients.
void set_summed_gradients(std::vector<at::Tensor>& parameters, int ranks, int step) {
  for (size_t i = 0; i < parameters.size(); ++i) {
    at::Tensor sum = at::zeros(kShapes[i]);
    for (int rank = 0; rank < ranks; ++rank) sum += local_gradient(rank, step, i);
    parameters[i].mutable_grad() = sum;
  }
}

// Hands the optimizer this rank's gradient as the trainer does: stage 2 reduces it after each
// of two micro-batches (halves, so the sum is exact), stages 0 and 1 read the summed .grad().
// A rank without a gradient still takes part in stage 2's reductions.
void give_gradient(ZeroOptimizer& optimizer, std::vector<at::Tensor>& parameters, int rank,
                   int step, bool has_gradient = true) {
  const int micro_batches = optimizer.reduces_every_micro_batch() ? 2 : 1;
  for (int micro = 0; micro < micro_batches; ++micro) {
    if (has_gradient)
      for (size_t i = 0; i < parameters.size(); ++i)
        parameters[i].mutable_grad() = local_gradient(rank, step, i) / micro_batches;
    if (optimizer.reduces_every_micro_batch()) optimizer.reduce_micro_batch();
  }
}

// Runs fn(rank, group) on `world` threads joined by a Gloo group over loopback.
void on_ranks(int world, const std::function<void(int, const dist::Group&)>& fn) {
  const std::string store = test::temp_dir("zero") + "/store";
  std::vector<std::thread> threads;
  for (int rank = 0; rank < world; ++rank)
    threads.emplace_back([&, rank] { fn(rank, dist::Group::with_file_store(store, rank, world)); });
  for (auto& thread : threads) thread.join();
}

double max_difference(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, (a[i].to(at::kFloat) - b[i].to(at::kFloat)).abs().max().item<double>());
  return worst;
}

}  // namespace

TEST(ZeroOptimizer, OwnedRangesCoverTheParametersOnce) {
  EXPECT_EQ(owned_range(20, 0, 3).begin, 0);
  EXPECT_EQ(owned_range(20, 0, 3).end, 7);
  EXPECT_EQ(owned_range(20, 2, 3).begin, 14);
  EXPECT_EQ(owned_range(20, 2, 3).end, 20);
  // More ranks than values: the last ranks own nothing.
  EXPECT_EQ(owned_range(2, 1, 4).size(), 1);
  EXPECT_EQ(owned_range(2, 3, 4).size(), 0);
  EXPECT_EQ(optimizer_shard_name(1, 4), "optimizer-1-of-4.safetensors");
}

struct Sharding {
  int stage;
  at::ScalarType dtype;
  int64_t bucket_elements = dist::kBucketElements;  // 4: buckets cut and pack the parameters
};

class ShardedLikeReplicated : public ::testing::TestWithParam<Sharding> {};

TEST_P(ShardedLikeReplicated, TwoRanksStepLikeOneProcessWithTheSummedGradient) {
  const auto [stage, dtype, bucket_elements] = GetParam();
  constexpr int kSteps = 3;
  auto reference = start_parameters(dtype);
  AdamW adamw(reference, kSettings);
  std::vector<double> reference_norms;
  for (int step = 0; step < kSteps; ++step) {
    set_summed_gradients(reference, 2, step);
    reference_norms.push_back(guarded_step(adamw, reference, 1.0, kMaxNorm, kLr).grad_norm);
  }
  std::vector<at::Tensor> trained[2];
  std::vector<double> norms[2];
  int64_t bytes[2] = {0, 0};
  on_ranks(2, [&](int rank, const dist::Group& group) {
    auto parameters = start_parameters(dtype);
    ZeroOptimizer optimizer(parameters, kSettings, group, stage, bucket_elements);
    for (int step = 0; step < kSteps; ++step) {
      give_gradient(optimizer, parameters, rank, step);
      auto outcome = optimizer.step(1.0, kMaxNorm, kLr);
      EXPECT_TRUE(outcome.applied);
      norms[rank].push_back(outcome.grad_norm);
      for (const auto& parameter : parameters) EXPECT_FALSE(parameter.grad().defined());
    }
    bytes[rank] = optimizer.state_bytes();
    trained[rank] = parameters;
  });
  // bf16 weights are the float32 master rounded: equal masters round alike except at a tie.
  const double tolerance = dtype == at::kFloat ? 1e-5 : 8e-3;
  for (int rank = 0; rank < 2; ++rank) {
    EXPECT_LT(max_difference(trained[rank], reference), tolerance) << "rank " << rank;
    for (int step = 0; step < kSteps; ++step)
      EXPECT_NEAR(norms[rank][step], reference_norms[step], 1e-5 * reference_norms[step]);
    EXPECT_EQ(trained[rank][0].scalar_type(), dtype);
  }
  EXPECT_TRUE(trained[0][1].equal(trained[1][1]));  // the straddling parameter agrees bit for bit
  // Master, two moments and the gradient range: 4 x 4 bytes x 10 values per rank.
  EXPECT_EQ(bytes[0], 4 * 4 * 10);
}

TEST(ZeroOptimizer, StageTwoRefusesAGradientItWasNotGiven) {
  auto parameters = start_parameters(at::kFloat);
  ZeroOptimizer optimizer(parameters, kSettings, dist::Group::single(), 2);
  parameters[0].mutable_grad() = at::ones(kShapes[0]);
  EXPECT_THROW(optimizer.step(1.0, 0, kLr), std::logic_error);
}

TEST(ZeroOptimizer, NonFiniteStepChangesNothing) {
  auto parameters = start_parameters(at::kFloat);
  auto before = copies(parameters);
  ZeroOptimizer optimizer(parameters, kSettings, dist::Group::single(), 2);
  for (auto& parameter : parameters) parameter.mutable_grad() = at::ones(parameter.sizes());
  parameters[1].mutable_grad()[0] = std::nan("");
  optimizer.reduce_micro_batch();
  EXPECT_FALSE(optimizer.step(1.0, kMaxNorm, kLr).applied);
  EXPECT_EQ(optimizer.steps(), 0);
  EXPECT_EQ(max_difference(parameters, before), 0.0);
  // The next, finite step starts from a clean gradient sum.
  for (auto& parameter : parameters) parameter.mutable_grad() = at::ones(parameter.sizes());
  optimizer.reduce_micro_batch();
  EXPECT_TRUE(optimizer.step(1.0, 0, kLr).applied);
  EXPECT_GT(max_difference(parameters, before), 0.0);
}

INSTANTIATE_TEST_SUITE_P(Stages, ShardedLikeReplicated,
                         ::testing::Values(Sharding{1, at::kFloat}, Sharding{2, at::kFloat},
                                           Sharding{1, at::kBFloat16}, Sharding{2, at::kBFloat16},
                                           Sharding{1, at::kFloat, 4}, Sharding{2, at::kFloat, 4},
                                           Sharding{2, at::kBFloat16, 4}));

TEST(ZeroOptimizer, StateMovesBetweenStagesAndNumbersOfRanks) {
  // Two steps on 2 ranks (stage 1), then the third step on 1 process (stage 0), on 3 ranks
  // (stage 2) and, from the 1-process state, on 2 ranks (stage 2): each equals an uninterrupted
  // single process.
  const std::string dir = test::temp_dir("zero_resume");
  auto reference = start_parameters(at::kFloat);
  AdamW adamw(reference, kSettings);
  std::vector<at::Tensor> after_two;
  for (int step = 0; step < 3; ++step) {
    if (step == 2) after_two = copies(reference);
    set_summed_gradients(reference, 2, step);
    guarded_step(adamw, reference, 1.0, kMaxNorm, kLr);
  }
  const std::string sharded = dir + "/two-ranks";
  std::filesystem::create_directories(sharded);
  on_ranks(2, [&](int rank, const dist::Group& group) {
    auto parameters = start_parameters(at::kFloat);
    ZeroOptimizer optimizer(parameters, kSettings, group, 1);
    for (int step = 0; step < 2; ++step) {
      give_gradient(optimizer, parameters, rank, step);
      optimizer.step(1.0, kMaxNorm, kLr);
    }
    optimizer.save(sharded);
  });
  EXPECT_TRUE(std::filesystem::exists(sharded + "/optimizer-0-of-2.safetensors"));
  EXPECT_TRUE(std::filesystem::exists(sharded + "/optimizer-1-of-2.safetensors"));

  // 2 ranks -> 1 process, replicated: the shards merge.
  auto single = copies(after_two);
  ZeroOptimizer merged(single, kSettings, dist::Group::single(), 0);
  merged.load(sharded);
  EXPECT_EQ(merged.steps(), 2);
  set_summed_gradients(single, 2, 2);
  merged.step(1.0, kMaxNorm, kLr);
  EXPECT_LT(max_difference(single, reference), 1e-5);
  const std::string replicated = dir + "/one-process";
  std::filesystem::create_directories(replicated);
  merged.save(replicated);
  EXPECT_TRUE(std::filesystem::exists(replicated + "/optimizer.safetensors"));

  // 2 ranks -> 3 ranks, stage 2: the shards are re-split (rank 2 contributes no gradient).
  std::vector<at::Tensor> resplit[3];
  on_ranks(3, [&](int rank, const dist::Group& group) {
    auto parameters = copies(after_two);
    ZeroOptimizer optimizer(parameters, kSettings, group, 2);
    optimizer.load(sharded);
    give_gradient(optimizer, parameters, rank, 2, /*has_gradient=*/rank < 2);
    optimizer.step(1.0, kMaxNorm, kLr);
    resplit[rank] = parameters;
  });
  for (const auto& parameters : resplit) EXPECT_LT(max_difference(parameters, reference), 1e-5);

  // 1 process (its optimizer.safetensors, two steps in) -> 2 ranks, stage 2.
  auto one = copies(start_parameters(at::kFloat));
  ZeroOptimizer first(one, kSettings, dist::Group::single(), 0);
  for (int step = 0; step < 2; ++step) {
    set_summed_gradients(one, 2, step);
    first.step(1.0, kMaxNorm, kLr);
  }
  first.save(replicated);
  std::vector<at::Tensor> split[2];
  on_ranks(2, [&](int rank, const dist::Group& group) {
    auto parameters = copies(one);
    ZeroOptimizer optimizer(parameters, kSettings, group, 2);
    optimizer.load(replicated);
    give_gradient(optimizer, parameters, rank, 2);
    optimizer.step(1.0, kMaxNorm, kLr);
    split[rank] = parameters;
  });
  for (const auto& parameters : split) EXPECT_LT(max_difference(parameters, reference), 1e-5);
}

TEST(ZeroOptimizer, MismatchedShardsAreInputErrors) {
  const std::string dir = test::temp_dir("zero_bad");
  auto parameters = start_parameters(at::kFloat);
  ZeroOptimizer optimizer(parameters, kSettings, dist::Group::single(), 1);
  EXPECT_THROW(optimizer.load(dir), InputError);  // nothing to load
  optimizer.save(dir);
  // Another model's shards (a different number of parameters) name the file.
  std::vector<at::Tensor> larger = start_parameters(at::kFloat);
  larger.push_back(at::zeros({4}).requires_grad_(true));
  ZeroOptimizer other(larger, kSettings, dist::Group::single(), 1);
  try {
    other.load(dir);
    FAIL() << "loaded shards of another model";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("optimizer-0-of-1.safetensors"), std::string::npos)
        << error.what();
  }
  // A shard missing from a set of two.
  std::filesystem::rename(dir + "/optimizer-0-of-1.safetensors",
                          dir + "/optimizer-1-of-2.safetensors");
  try {
    optimizer.load(dir);
    FAIL() << "loaded an incomplete set of shards";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("optimizer-0-of-2.safetensors is missing"),
              std::string::npos)
        << error.what();
  }
}

}  // namespace empo::rl
